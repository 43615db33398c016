"""Object-level access: what a user may see. Loaders answer 404 for foreign records."""

from __future__ import annotations

from flask import abort

from kita.extensions import db
from kita.models import Application, Child, OfferStatus, Role, Status, User
from kita.models.base import MAX_ID
from kita.services import audit


def facility_sees(application: Application, facility_id: int) -> bool:
    """A facility sees applications that wished it or got an offer from it, until the
    child is enrolled at another facility."""
    offered_here = [o for o in application.offers if o.facility_id == facility_id]
    if application.status == Status.ENROLLED:
        return any(o.status == OfferStatus.ACCEPTED for o in offered_here)
    return bool(offered_here) or any(w.facility_id == facility_id for w in application.wishes)


def can_view_application(user: User, application: Application) -> bool:
    if user.role == Role.OFFICE:
        return True
    if user.role == Role.PARENT:
        return application.child.household.user_id == user.id
    if user.role == Role.FACILITY and user.facility_id is not None:
        return facility_sees(application, user.facility_id)
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
    application = db.session.get(Application, app_id) if 0 < app_id <= MAX_ID else None
    if application is None or not can_view_application(user, application):
        deny(user, "application", app_id)
    assert application is not None
    return application


def get_child_or_404(child_id: int, user: User) -> Child:
    child = db.session.get(Child, child_id) if 0 < child_id <= MAX_ID else None
    if child is None or not can_view_child(user, child):
        deny(user, "child", child_id)
    assert child is not None
    return child
