"""Facility staff pages: own children only, enrollment, refusal, free places, export."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from kita.extensions import db
from kita.models import AuditEvent, Capacity, CareType, Role, Status
from kita.services import offers
from tests.services.round_helpers import office_user, released_application


def _setup(municipality: dict[str, Any]) -> tuple[Any, Any, Any]:
    office = office_user()
    mine = released_application(municipality, office, ["sonnenschein", "regenbogen"])
    other = released_application(municipality, office, ["pusteblume"])
    offer = offers.make_offer(office, mine, municipality["facilities"]["sonnenschein"], wish_rank=1)
    db.session.commit()
    offers.accept(mine.child.household.user, offer)
    return mine, other, offer


def test_facility_sees_only_its_children(
    client: FlaskClient, municipality: dict[str, Any], login_as: Any
) -> None:
    mine, other, offer = _setup(municipality)
    login_as(Role.FACILITY, facility=municipality["facilities"]["sonnenschein"])
    page = client.get("/facility/").get_data(as_text=True)
    assert mine.reference in page and "Aufnahme bestätigen" in page
    assert other.reference not in page
    assert f"{mine.child.first_name} M." in page  # first name and initial only
    csv = client.get("/facility/export.csv").get_data(as_text=True)
    assert mine.reference in csv and other.reference not in csv


def test_foreign_offer_is_404_and_audited(
    client: FlaskClient, municipality: dict[str, Any], login_as: Any
) -> None:
    mine, other, offer = _setup(municipality)
    login_as(Role.FACILITY, facility=municipality["facilities"]["pusteblume"])
    assert client.post(f"/facility/offers/{offer.id}/enroll").status_code == 404
    assert client.get(f"/facility/offers/{offer.id}/refuse").status_code == 404
    denied = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "access.denied")
    ).all()
    assert len(denied) == 2
    assert mine.status == Status.ACCEPTED


def test_other_roles_cannot_open_facility_pages(
    client: FlaskClient, municipality: dict[str, Any], login_as: Any
) -> None:
    login_as(Role.PARENT)
    assert client.get("/facility/").status_code == 403


def test_enroll_then_other_facility_loses_sight(
    client: FlaskClient, municipality: dict[str, Any], login_as: Any, auth: Any
) -> None:
    mine, _other, offer = _setup(municipality)
    # the second wish sees the accepted child only while it is not enrolled elsewhere
    from tests.conftest import make_user

    regen = make_user(Role.FACILITY, facility=municipality["facilities"]["regenbogen"])
    login_as(Role.FACILITY, facility=municipality["facilities"]["sonnenschein"])
    assert client.post(f"/facility/offers/{offer.id}/enroll").status_code == 303
    db.session.expire_all()
    assert mine.status == Status.ENROLLED
    assert offer.enrollment is not None
    assert client.post(f"/facility/offers/{offer.id}/enroll").status_code == 303  # no-op
    assert mine.status == Status.ENROLLED
    auth.logout()
    auth.login(regen)
    assert mine.reference not in client.get("/facility/").get_data(as_text=True)
    # nor in its export
    export = client.get("/facility/export.csv")
    assert export.status_code == 200
    assert mine.reference not in export.get_data(as_text=True)


def test_refuse_needs_reason_and_flags(
    client: FlaskClient, municipality: dict[str, Any], login_as: Any
) -> None:
    mine, _other, offer = _setup(municipality)
    login_as(Role.FACILITY, facility=municipality["facilities"]["sonnenschein"])
    r = client.post(f"/facility/offers/{offer.id}/refuse", data={"reason": " "})
    assert r.status_code == 422
    r = client.post(f"/facility/offers/{offer.id}/refuse", data={"reason": "Kein Personal"})
    assert r.status_code == 303
    db.session.expire_all()
    assert mine.status == Status.WAITLIST and mine.flagged and mine.flag_reason == "Kein Personal"
    assert offer.status == "released"
    assert mine.events[-1].message == "Kein Personal"


def test_report_free_places(
    client: FlaskClient, municipality: dict[str, Any], login_as: Any
) -> None:
    fac = municipality["facilities"]["sonnenschein"]
    login_as(Role.FACILITY, facility=fac)
    r = client.post("/facility/free-places", data={"free_krippe": "-1"})
    assert r.status_code == 422
    r = client.post("/facility/free-places", data={"free_krippe": "3", "free_kindergarten": "5"})
    assert r.status_code == 303
    caps = {
        c.care_type: c.reported_free
        for c in db.session.scalars(select(Capacity).where(Capacity.facility_id == fac.id))
    }
    assert caps == {CareType.KRIPPE: 3, CareType.KINDERGARTEN: 5}


def test_overdue_enrollment_flagged(municipality: dict[str, Any]) -> None:
    from datetime import timedelta

    from kita.models import utcnow
    from kita.services import enrollments

    mine, _other, offer = _setup(municipality)
    assert enrollments.flag_overdue(utcnow(), days=28) == 0
    assert enrollments.flag_overdue(utcnow() + timedelta(days=29), days=28) == 1
    db.session.expire_all()
    assert mine.flagged and "within 28 days" in (mine.flag_reason or "")
    assert enrollments.flag_overdue(utcnow() + timedelta(days=29), days=28) == 0


def test_office_reaches_the_runs_from_dashboard_and_rounds(
    client: FlaskClient, municipality: dict[str, Any], login_as: Any
) -> None:
    login_as(Role.OFFICE)
    target = f"/office/rounds/{municipality['round'].id}/runs"
    assert target in client.get("/office/").get_data(as_text=True)
    assert target in client.get("/office/rounds").get_data(as_text=True)
    assert client.get(target).status_code == 200
