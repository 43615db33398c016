"""Helpers for allocation and offer tests: released applications in the test municipality."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from kita.extensions import db
from kita.models import Application, CareType, Facility, Role, User
from kita.services import applications, households
from kita.services.applications import ApplicationInput
from tests.conftest import make_user

_counter = {"n": 0}


def office_user() -> User:
    return make_user(Role.OFFICE)


def released_application(
    municipality: dict[str, Any],
    office: User,
    wishes: list[str],
    *,
    care_type: CareType = CareType.KRIPPE,
    criteria: list[tuple[str, str | None]] | None = None,
    district: str = "Altstadt",
    parent: User | None = None,
) -> Application:
    """A parent files an application; the office verifies the criteria and releases it."""
    _counter["n"] += 1
    parent = parent or make_user(Role.PARENT)
    household = households.household_for(parent)
    households.update_household(
        parent,
        household,
        first_name="Eva",
        last_name="Muster",
        street="Weg 1",
        postal_code="12345",
        city="Musterstadt",
        district=district,
    )
    round_ = municipality["round"]
    start = round_.care_start_from + timedelta(days=1)
    years = {CareType.KRIPPE: 1, CareType.KINDERGARTEN: 4, CareType.HORT: 8}[care_type]
    child = households.add_child(
        parent,
        household,
        first_name=f"Kind{_counter['n']}",
        last_name="Muster",
        birth_date=start - timedelta(days=365 * years + 30),
    )
    facs: dict[str, Facility] = municipality["facilities"]
    rules = municipality["rules"]
    data = ApplicationInput(
        child_id=child.id,
        round_id=round_.id,
        start_date=start,
        care_type=care_type,
        weekly_hours=30,
        wishes=[facs[s].id for s in wishes],
        criteria=[
            (rules[code].id, facs[fac].id if fac else None) for code, fac in (criteria or [])
        ],
    )
    app = applications.create(parent, child, round_, data, submit=True)
    applications.transition(app, "start_review", office)
    for c in app.criteria:
        c.verified = True
    applications.transition(app, "release", office)
    db.session.commit()
    return app


def paper_application(
    office: User, municipality: dict[str, Any], guardian: str = "Lena", child: str = "Leo"
) -> tuple[Application, str]:
    """An application the office entered from a paper form (family without account, letters
    by post), wishing Regenbogen; returns it and the family's access code."""
    from kita.services import office_entry

    round_ = municipality["round"]
    start = round_.care_start_from + timedelta(days=5)
    return office_entry.enter(
        office,
        office_entry.PaperForm(
            guardian_first_name=guardian,
            guardian_last_name="Überweg",
            street="Postweg 2",
            postal_code="12345",
            city="Musterstadt",
            child_first_name=child,
            child_last_name="Überweg",
            birth_date=start - timedelta(days=600),
            round_id=round_.id,
            start_date=start,
            care_type="krippe",
            weekly_hours=30,
            wishes=[municipality["facilities"]["regenbogen"].id],
        ),
    )
