"""Object-level access: what a user may see. Loaders answer 404 for foreign records."""

from __future__ import annotations

from flask import abort
from sqlalchemy import exists, select

from kita.extensions import db
from kita.models import Application, Child, Household, Role, User, Wish
from kita.services import audit


def household_of(user: User) -> Household | None:
    if user.role != Role.PARENT:
        return None
    return db.session.scalar(select(Household).where(Household.user_id == user.id))


def can_view_application(user: User, application: Application) -> bool:
    if user.role == Role.OFFICE:
        return True
    if user.role == Role.PARENT:
        return application.child.household.user_id == user.id
    if user.role == Role.FACILITY and user.facility_id is not None:
        return bool(
            db.session.scalar(
                select(
                    exists().where(
                        Wish.application_id == application.id,
                        Wish.facility_id == user.facility_id,
                    )
                )
            )
        ) or any(o.facility_id == user.facility_id for o in application.offers)
    return False


def can_view_child(user: User, child: Child) -> bool:
    if user.role == Role.OFFICE:
        return True
    if user.role == Role.PARENT:
        return child.household.user_id == user.id
    return False


def deny(user: User | None, what: str, object_id: object) -> None:
    """Record the denial in the audit log and answer 404."""
    audit.record_now(user, "access.denied", object_type=what, object_id=object_id)
    abort(404)


def get_application_or_404(app_id: int, user: User) -> Application:
    application = db.session.get(Application, app_id)
    if application is None or not can_view_application(user, application):
        deny(user, "application", app_id)
    assert application is not None
    return application


def get_child_or_404(child_id: int, user: User) -> Child:
    child = db.session.get(Child, child_id)
    if child is None or not can_view_child(user, child):
        deny(user, "child", child_id)
    assert child is not None
    return child
