"""Tie-break: the lottery is drawn once after the deadline, seeded and recorded, one
number per family; or the order of submission."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from kita.errors import DomainError
from kita.extensions import db
from kita.models import AuditEvent, Household, Role, TiebreakMethod
from kita.services import households, rules
from tests.conftest import make_user
from tests.web.test_office import file_application


def test_lottery_drawn_once_siblings_share(app, municipality):  # type: ignore[no-untyped-def]
    round_ = municipality["round"]
    a = file_application(municipality, first="Eins")
    b = file_application(municipality, first="Zwei")
    # a sibling in a's household
    parent = db.session.get(Household, a.child.household_id)
    assert parent is not None
    sibling_child = households.add_child(
        parent.user,
        parent,
        first_name="Drei",
        last_name="Muster",
        birth_date=a.child.birth_date - timedelta(days=30),
    )
    from kita.services import applications

    data = applications.ApplicationInput(
        child_id=sibling_child.id,
        round_id=round_.id,
        start_date=a.start_date,
        care_type=a.care_type,
        weekly_hours=30,
        wishes=[w.facility_id for w in a.wishes],
    )
    c = applications.create(parent.user, sibling_child, round_, data, submit=True)  # type: ignore[arg-type]
    with pytest.raises(DomainError):
        rules.draw_lottery(round_, None)  # before the deadline
    with pytest.raises(DomainError):
        rules.tiebreak_for(a)
    after = round_.application_deadline + timedelta(days=1)
    assert rules.draw_due_lotteries(today=after) == 1
    db.session.refresh(round_)
    assert round_.lottery_seed is not None and round_.lottery_drawn_at is not None
    seed = round_.lottery_seed
    assert rules.draw_lottery(round_, None, today=after) is False  # only once
    assert rules.draw_due_lotteries(today=after) == 0
    db.session.refresh(round_)
    assert round_.lottery_seed == seed
    numbers = {x.id: rules.tiebreak_for(x) for x in (a, b, c)}
    assert numbers[a.id] == numbers[c.id]  # siblings share
    assert sorted({numbers[a.id], numbers[b.id]}) == [1, 2]
    assert rules.tiebreaks_for_round(round_.id) == numbers
    # reproducible from the recorded seed
    hids = sorted({a.child.household_id, b.child.household_id})
    assert rules.assign_numbers(seed, hids)[a.child.household_id] == numbers[a.id]
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "round.lottery_drawn"))
    office = make_user(Role.OFFICE)
    with pytest.raises(DomainError):
        rules.set_tiebreak(office, round_, TiebreakMethod.SUBMISSION)


def test_submission_order(app, municipality):  # type: ignore[no-untyped-def]
    office = make_user(Role.OFFICE)
    round_ = municipality["round"]
    rules.set_tiebreak(office, round_, "submission")
    a = file_application(municipality, first="Früh")
    b = file_application(municipality, first="Spät")
    assert rules.tiebreak_for(a) < rules.tiebreak_for(b)
    assert rules.tiebreaks_for_round(round_.id) == {
        a.id: rules.tiebreak_for(a),
        b.id: rules.tiebreak_for(b),
    }
