"""Households, guardians and children."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from kita.errors import ValidationFailed
from kita.extensions import db
from kita.models import Application, Child, Guardian, Household, User
from kita.services import audit

NAME_MAX = 100


def _name_errors(errors: dict[str, list[str]], field: str, value: str) -> None:
    value = (value or "").strip()
    if not value:
        errors.setdefault(field, []).append(str(_l("Please fill in this field.")))
    elif len(value) > NAME_MAX:
        errors.setdefault(field, []).append(
            str(_l("At most %(n)d characters, please.", n=NAME_MAX))
        )


def update_household(
    actor: User,
    household: Household,
    *,
    first_name: str,
    last_name: str,
    street: str,
    postal_code: str,
    city: str,
    phone: str | None = None,
    district: str | None = None,
    commit: bool = True,
) -> Household:
    errors: dict[str, list[str]] = {}
    for field, value in (
        ("first_name", first_name),
        ("last_name", last_name),
        ("street", street),
        ("city", city),
    ):
        _name_errors(errors, field, value)
    postal_code = (postal_code or "").strip()
    if not (len(postal_code) == 5 and postal_code.isdigit()):
        errors.setdefault("postal_code", []).append(str(_l("Please enter a five-digit postcode.")))
    if phone and len(phone) > 40:
        errors.setdefault("phone", []).append(str(_l("At most %(n)d characters, please.", n=40)))
    if errors:
        raise ValidationFailed(errors)
    household.street = street.strip()
    household.postal_code = postal_code
    household.city = city.strip()
    household.phone = (phone or "").strip() or None
    if district is not None:
        household.district = district
    if household.guardians:
        guardian = household.guardians[0]
        guardian.first_name, guardian.last_name = first_name.strip(), last_name.strip()
    else:
        household.guardians.append(
            Guardian(first_name=first_name.strip(), last_name=last_name.strip())
        )
    db.session.add(household)
    db.session.flush()
    audit.record(actor, "household.update", household)
    if commit:
        db.session.commit()
    return household


def _validate_child(first_name: str, last_name: str, birth_date: date) -> None:
    errors: dict[str, list[str]] = {}
    _name_errors(errors, "first_name", first_name)
    _name_errors(errors, "last_name", last_name)
    if birth_date > date.today():
        errors.setdefault("birth_date", []).append(
            str(_l("The date of birth must not be in the future."))
        )
    elif birth_date.year < date.today().year - 15:
        errors.setdefault("birth_date", []).append(str(_l("Please check the date of birth.")))
    if errors:
        raise ValidationFailed(errors)


def add_child(
    actor: User,
    household: Household,
    *,
    first_name: str,
    last_name: str,
    birth_date: date,
    commit: bool = True,
) -> Child:
    _validate_child(first_name, last_name, birth_date)
    child = Child(first_name=first_name.strip(), last_name=last_name.strip(), birth_date=birth_date)
    household.children.append(child)
    db.session.flush()
    audit.record(actor, "child.create", child)
    if commit:
        db.session.commit()
    return child


def applications_by_child(household: Household) -> list[tuple[Child, list[Application]]]:
    """The household's children with their applications (newest first), in two queries."""
    children = household.children
    rows = db.session.scalars(
        select(Application)
        .where(Application.child_id.in_([c.id for c in children]))
        .order_by(Application.id.desc())
    ).all()
    by_child: dict[int, list[Application]] = {c.id: [] for c in children}
    for application in rows:
        by_child[application.child_id].append(application)
    return [(c, by_child[c.id]) for c in children]


def household_for(user: User) -> Household:
    """The parent's own household (created on first use)."""
    household = db.session.scalar(
        select(Household)
        .where(Household.user_id == user.id)
        .options(joinedload(Household.children), joinedload(Household.guardians))
    )
    if household is None:
        household = Household(user_id=user.id, locale=user.locale or "de")
        db.session.add(household)
        db.session.commit()
    return household


def update_child(
    actor: User,
    child: Child,
    *,
    first_name: str,
    last_name: str,
    birth_date: date,
    commit: bool = True,
) -> Child:
    _validate_child(first_name, last_name, birth_date)
    child.first_name, child.last_name = first_name.strip(), last_name.strip()
    child.birth_date = birth_date
    audit.record(actor, "child.update", child)
    if commit:
        db.session.commit()
    return child


def age_label(child: Child, day: date | None = None) -> str:
    """The age in years and months (computed, never stored)."""
    years, months = child.age_on(day or date.today())
    if years < 0:
        return str(_l("not born yet"))
    return str(_l("%(y)d years, %(m)d months", y=years, m=months))
