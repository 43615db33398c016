"""Facilities, their care types and capacities; rounds."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from kita.errors import ValidationFailed
from kita.extensions import db
from kita.models import (
    Capacity,
    CareType,
    Facility,
    FacilityCareType,
    Household,
    Role,
    Round,
    User,
)
from kita.services import audit


def active_facilities() -> list[Facility]:
    return list(
        db.session.scalars(
            select(Facility)
            .where(Facility.active.is_(True))
            .options(selectinload(Facility.care_types))
            .order_by(Facility.district, Facility.name)
        ).all()
    )


def get_facility(facility_id: int) -> Facility | None:
    return db.session.get(Facility, facility_id)


def facilities_by_name(active_only: bool = False) -> list[Facility]:
    stmt = select(Facility).order_by(Facility.name)
    if active_only:
        stmt = stmt.where(Facility.active.is_(True))
    return list(db.session.scalars(stmt).all())


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


# --- the office's facility management ---------------------------------------------------


@dataclass
class FacilityInput:
    name: str
    district: str
    operator: str = ""
    street: str = ""
    postal_code: str = ""
    city: str = ""
    # care type -> (min weekly hours, max weekly hours) offered
    care_types: dict[CareType, tuple[int, int]] = field(default_factory=dict)


def all_facilities() -> list[Facility]:
    return list(
        db.session.scalars(
            select(Facility)
            .options(selectinload(Facility.care_types), selectinload(Facility.staff))
            .order_by(Facility.active.desc(), Facility.district, Facility.name)
        ).all()
    )


def districts() -> list[str]:
    """Districts known from facilities and households, sorted."""
    names = set(db.session.scalars(select(Facility.district).distinct()).all())
    names |= {d for d in db.session.scalars(select(Household.district).distinct()).all() if d}
    return sorted(names)


def _slugify(name: str) -> str:
    table = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower().translate(table)).strip("-")
    return slug[:60] or "kita"


def _unique_slug(name: str) -> str:
    base = _slugify(name)
    slug, n = base, 1
    while db.session.scalar(select(Facility.id).where(Facility.slug == slug)) is not None:
        n += 1
        slug = f"{base}-{n}"
    return slug


def save_facility(actor: User, data: FacilityInput, facility: Facility | None = None) -> Facility:
    errors: dict[str, list[str]] = {}
    for name, limit in (("name", 200), ("district", 100)):
        value = (getattr(data, name) or "").strip()
        if not value:
            errors[name] = [str(_l("Please fill in this field."))]
        elif len(value) > limit:
            errors[name] = [str(_l("At most %(n)d characters, please.", n=limit))]
    postal = (data.postal_code or "").strip()
    if postal and not (len(postal) == 5 and postal.isdigit()):
        errors["postal_code"] = [str(_l("Please enter a five-digit postcode."))]
    if not data.care_types:
        errors["care_types"] = [str(_l("Please choose at least one care type."))]
    for ct, (lo, hi) in data.care_types.items():
        if not (0 < lo <= hi <= 60):
            errors[f"hours_{ct.value}"] = [
                str(_l("Between 1 and 60 hours, the minimum not above the maximum."))
            ]
    if errors:
        raise ValidationFailed(errors)
    created = facility is None
    if facility is None:
        facility = Facility(slug=_unique_slug(data.name))
        db.session.add(facility)
    facility.name = data.name.strip()
    facility.district = data.district.strip()
    facility.operator = (data.operator or "").strip()
    facility.street = (data.street or "").strip()
    facility.postal_code = postal
    facility.city = (data.city or "").strip()
    existing = {ct.care_type: ct for ct in facility.care_types}
    for ct_type, row in list(existing.items()):
        if ct_type not in data.care_types:
            facility.care_types.remove(row)
    for ct_type, (lo, hi) in data.care_types.items():
        offered = existing.get(ct_type)
        if offered is None:
            offered = FacilityCareType(care_type=ct_type)
            facility.care_types.append(offered)
        offered.min_hours, offered.max_hours = lo, hi
    db.session.flush()
    audit.record(
        actor,
        "facility.create" if created else "facility.update",
        facility,
        name=facility.name,
        care_types={str(k): list(v) for k, v in data.care_types.items()},
    )
    db.session.commit()
    return facility


def set_active(actor: User, facility: Facility, active: bool) -> None:
    if facility.active != active:
        facility.active = active
        audit.record(actor, "facility.activate" if active else "facility.deactivate", facility)
    db.session.commit()


def capacities(facility: Facility, round_: Round) -> dict[CareType, Capacity]:
    return {
        c.care_type: c
        for c in db.session.scalars(
            select(Capacity).where(
                Capacity.facility_id == facility.id, Capacity.round_id == round_.id
            )
        ).all()
    }


def set_capacities(
    actor: User, facility: Facility, round_: Round, places: dict[CareType, int]
) -> None:
    """Places per care type in a round; every change is audited with old and new value."""
    errors: dict[str, list[str]] = {}
    offered = {ct.care_type for ct in facility.care_types}
    for ct, n in places.items():
        if n is None or n < 0 or n > 10000:
            errors[f"places_{ct.value}"] = [str(_l("Between 0 and 10000, please."))]
        elif ct not in offered and n:
            errors[f"places_{ct.value}"] = [str(_l("The facility does not offer this care type."))]
    if errors:
        raise ValidationFailed(errors)
    current = capacities(facility, round_)
    for ct, n in places.items():
        row = current.get(ct)
        old = row.places if row is not None else None
        if row is None:
            if not n:
                continue
            row = Capacity(facility_id=facility.id, round_id=round_.id, care_type=ct, places=n)
            db.session.add(row)
        elif row.places == n:
            continue
        row.places = n
        audit.record(
            actor,
            "capacity.change",
            facility,
            round=round_.name,
            care_type=str(ct),
            before=old,
            after=n,
        )
    db.session.commit()


def invite_staff(actor: User, facility: Facility, email: str) -> User:
    """A staff account for the facility; the invitation mail carries a link to set the
    password (the account has none that anybody knows)."""
    from kita.services import accounts

    email = accounts.normalize_email(email)
    if not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", email):
        raise ValidationFailed({"email": [str(_l("Please enter a valid e-mail address."))]})
    try:
        user = accounts.invite_staff(actor, email, Role.FACILITY, facility=facility, commit=False)
        db.session.flush()
        audit.record(actor, "facility.staff_invited", facility, user_id=user.id)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return user
