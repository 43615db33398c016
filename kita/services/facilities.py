"""Facilities, their care types and capacities; rounds."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from kita.extensions import db
from kita.models import Facility, Round


def active_facilities() -> list[Facility]:
    return list(
        db.session.scalars(
            select(Facility)
            .where(Facility.active.is_(True))
            .options(selectinload(Facility.care_types))
            .order_by(Facility.district, Facility.name)
        ).all()
    )


def open_round(today: date | None = None) -> Round | None:
    """The round currently taking applications (deadline not passed), else the newest open."""
    today = today or date.today()
    rounds = db.session.scalars(
        select(Round).where(Round.closed_at.is_(None)).order_by(Round.application_deadline)
    ).all()
    for r in rounds:
        if r.application_deadline >= today:
            return r
    return rounds[-1] if rounds else None
