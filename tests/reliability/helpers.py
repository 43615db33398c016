"""Shared helpers of the reliability tests: families with applications as plain rows."""

from __future__ import annotations

import socket
from datetime import date, datetime, timedelta
from typing import Any

from kita.extensions import db
from kita.models import (
    Application,
    CareType,
    Child,
    Guardian,
    Household,
    Offer,
    OfferStatus,
    Role,
    Round,
    Status,
    User,
    Wish,
)
from kita.services import accounts


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def family(
    round_: Round,
    facility_id: int,
    i: int,
    *,
    status: Status = Status.RELEASED,
    email: bool = True,
    password: str = "ein sicheres Passwort",
) -> Application:
    """A parent account (or a letters-only household), one child, one application."""
    user: User | None = None
    if email:
        user = accounts.create_user(
            f"eltern{i:03d}@example.org", password, Role.PARENT, check_password=False
        )
    household = user.household if user is not None else None
    if household is None:
        household = Household(user_id=user.id if user else None)
    household.street = f"Lindenweg {i}"
    household.postal_code = "12345"
    household.city = "Musterstadt"
    household.district = "Altstadt"
    household.phone = f"0621-{i:05d}"
    household.entered_by_office = user is None
    household.guardians.append(Guardian(first_name="Erika", last_name=f"Muster{i}"))
    child = Child(first_name=f"Kind{i}", last_name=f"Muster{i}", birth_date=date(2024, 3, 15))
    household.children.append(child)
    db.session.add(household)
    application = Application(
        reference=f"KV-2027-{i:05d}",
        child=child,
        round_id=round_.id,
        status=status,
        care_type=CareType.KRIPPE,
        start_date=round_.care_start_from,
        weekly_hours=30,
        remarks=f"Bitte Nähe zu Oma Muster{i}",
    )
    application.wishes.append(Wish(facility_id=facility_id, rank=1))
    db.session.add(application)
    db.session.flush()
    return application


def open_offer(application: Application, facility_id: int, deadline: datetime) -> Offer:
    application.status = Status.OFFERED
    offer = Offer(
        application_id=application.id,
        facility_id=facility_id,
        care_type=application.care_type,
        wish_rank=1,
        status=OfferStatus.OPEN,
        deadline=deadline,
    )
    db.session.add(offer)
    db.session.flush()
    return offer


def in_days(now: datetime, days: float) -> datetime:
    return now + timedelta(days=days)


def mails_to(sent: list[Any], address: str) -> list[Any]:
    return [m for m in sent if m["To"] == address]
