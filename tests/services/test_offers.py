"""Offers: accept, accept and keep waiting, upgrades, decline, expiry, alternatives."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from kita.errors import CapacityExceeded, Conflict, NotAllowed
from kita.extensions import db
from kita.models import Offer, OfferStatus, OutboxMail, Role, Status, utcnow
from kita.services import offers
from tests.conftest import make_user
from tests.services.round_helpers import office_user, released_application


def _offer(municipality: dict[str, Any], office: Any, app: Any, slug: str, rank: int) -> Offer:
    offer = offers.make_offer(office, app, municipality["facilities"][slug], wish_rank=rank)
    db.session.commit()
    return offer


def test_accept_once_then_conflict(municipality: dict[str, Any]) -> None:
    office = office_user()
    app = released_application(municipality, office, ["sonnenschein", "regenbogen"])
    offer = _offer(municipality, office, app, "sonnenschein", 1)
    assert app.status == Status.OFFERED
    mail = db.session.scalars(select(OutboxMail).where(OutboxMail.kind == "offer_made")).one()
    assert app.reference in mail.subject and "Kita Sonnenschein" in mail.body
    parent = app.child.household.user
    offers.accept(parent, offer)
    assert app.status == Status.ACCEPTED and offer.status == OfferStatus.ACCEPTED
    with pytest.raises(Conflict):
        offers.accept(parent, offer)
    assert offers.open_offer(app) is None


def test_foreign_parent_cannot_answer(municipality: dict[str, Any]) -> None:
    office = office_user()
    app = released_application(municipality, office, ["sonnenschein"])
    offer = _offer(municipality, office, app, "sonnenschein", 1)
    with pytest.raises(NotAllowed):
        offers.decline(make_user(Role.PARENT), offer)
    assert offer.status == OfferStatus.OPEN


def test_upgrade_releases_held_place(municipality: dict[str, Any]) -> None:
    office = office_user()
    app = released_application(municipality, office, ["sonnenschein", "regenbogen"])
    first = _offer(municipality, office, app, "regenbogen", 2)
    parent = app.child.household.user
    offers.accept(parent, first, keep_waiting=True)
    assert app.status == Status.ACCEPTED_WAITING and first.keeps_waiting
    taken = offers.taken_places(municipality["round"].id)
    assert sum(taken.values()) == 1
    better = _offer(municipality, office, app, "sonnenschein", 1)
    assert app.status == Status.OFFERED
    assert sum(offers.taken_places(municipality["round"].id).values()) == 2
    offers.accept(parent, better)
    db.session.refresh(first)
    assert first.status == OfferStatus.RELEASED
    assert app.status == Status.ACCEPTED
    assert sum(offers.taken_places(municipality["round"].id).values()) == 1


def test_declined_upgrade_keeps_place(municipality: dict[str, Any]) -> None:
    office = office_user()
    app = released_application(municipality, office, ["sonnenschein", "regenbogen"])
    first = _offer(municipality, office, app, "regenbogen", 2)
    parent = app.child.household.user
    offers.accept(parent, first, keep_waiting=True)
    better = _offer(municipality, office, app, "sonnenschein", 1)
    offers.decline(parent, better)
    assert app.status == Status.ACCEPTED_WAITING
    db.session.refresh(first)
    assert first.status == OfferStatus.ACCEPTED


def test_expire_due(municipality: dict[str, Any]) -> None:
    office = office_user()
    plain = released_application(municipality, office, ["sonnenschein"])
    waiting = released_application(municipality, office, ["sonnenschein", "regenbogen"])
    o1 = _offer(municipality, office, plain, "sonnenschein", 1)
    held = _offer(municipality, office, waiting, "regenbogen", 2)
    offers.accept(waiting.child.household.user, held, keep_waiting=True)
    o2 = _offer(municipality, office, waiting, "sonnenschein", 1)
    assert offers.expire_due(utcnow()) == 0
    assert offers.expire_due(utcnow() + timedelta(days=15)) == 2
    db.session.refresh(o1)
    db.session.refresh(o2)
    assert o1.status == o2.status == OfferStatus.EXPIRED
    assert plain.status == Status.EXPIRED
    assert waiting.status == Status.ACCEPTED_WAITING
    kinds = db.session.scalars(
        select(OutboxMail.kind).where(OutboxMail.kind == "offer_expired")
    ).all()
    assert len(kinds) == 2
    assert offers.expire_due(utcnow() + timedelta(days=15)) == 0


def test_alternative_offer(municipality: dict[str, Any]) -> None:
    office = office_user()
    app = released_application(municipality, office, ["regenbogen"], district="Nordstadt")
    alts = offers.alternative_facilities(app)
    slugs = [a.facility.slug for a in alts]
    # Krippe places outside the wish, the family's district first
    assert slugs == ["pusteblume", "sonnenschein"]
    offer = offers.make_alternative(office, app, alts[0].facility)
    assert offer.alternative and offer.wish_rank is None
    assert app.status == Status.OFFERED


def test_alternative_offer_needs_free_place(municipality: dict[str, Any]) -> None:
    office = office_user()
    fac = municipality["facilities"]["pusteblume"]
    for _ in range(2):
        a = released_application(municipality, office, ["pusteblume"])
        _offer(municipality, office, a, "pusteblume", 1)
    app = released_application(municipality, office, ["regenbogen"])
    with pytest.raises(CapacityExceeded):
        offers.make_alternative(office, app, fac)
    assert app.status == Status.RELEASED
