"""A family's data: everything stored about it (export) and erasure of the account.

The export is one plain dict (served as JSON and rendered as a readable page): the
account, the household, the children, every application with its wishes, criteria,
offers, timeline and the explanation of the outcome, the mails sent, and who at the
coordination office or at a facility viewed the family's records (audit rows
``application.view`` / ``child.view`` written by the staff views).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, or_, select, update

from kita.errors import NotAllowed
from kita.extensions import db
from kita.models import (
    STAFF_ROLES,
    AllocationOverride,
    Application,
    AuditEvent,
    Child,
    Enrollment,
    EnrollmentStatus,
    FailedLogin,
    Household,
    Offer,
    OfferStatus,
    OutboxMail,
    User,
)
from kita.services import audit
from kita.services.explanations import explain_outcome, is_published
from kita.services.stations import care_type_label, station_label

VIEW_ACTIONS = ("application.view", "child.view")


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _household(user: User) -> Household | None:
    return db.session.scalar(select(Household).where(Household.user_id == user.id))


def _applications(household: Household | None) -> list[Application]:
    if household is None:
        return []
    return list(
        db.session.scalars(
            select(Application)
            .join(Child, Application.child_id == Child.id)
            .where(Child.household_id == household.id)
            .order_by(Application.id)
        ).all()
    )


def viewers(household: Household | None) -> list[dict[str, Any]]:
    """Who at the office or a facility opened the family's applications or children."""
    if household is None:
        return []
    app_rows = _applications(household)
    app_ids = [str(a.id) for a in app_rows]
    refs = {str(a.id): a.reference for a in app_rows}
    children = {str(c.id): c for c in household.children}
    conditions = []
    if app_ids:
        conditions.append(
            (AuditEvent.object_type == "application") & AuditEvent.object_id.in_(app_ids)
        )
    if children:
        conditions.append(
            (AuditEvent.object_type == "child") & AuditEvent.object_id.in_(list(children))
        )
    if not conditions:
        return []
    rows = db.session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.action.in_(VIEW_ACTIONS),
            AuditEvent.actor_role.in_([str(r) for r in STAFF_ROLES]),
            or_(*conditions),
        )
        .order_by(AuditEvent.created_at, AuditEvent.id)
    ).all()
    result = []
    for row in rows:
        actor = db.session.get(User, row.actor_id) if row.actor_id is not None else None
        if row.actor_role == "facility":
            where = (
                actor.facility.name
                if actor is not None and actor.facility is not None
                else str(_l("a facility"))
            )
        else:
            where = str(_l("Coordination office"))
        who = (actor.display_name or actor.email) if actor is not None else None
        if row.object_type == "application":
            what = refs.get(row.object_id or "", "")
        else:
            child = children.get(row.object_id or "")
            what = child.first_name if child is not None else ""
        result.append(
            {
                "at": _iso(row.created_at),
                "at_dt": row.created_at,
                "role": row.actor_role,
                "where": where,
                "who": who,
                "object": row.object_type,
                "record": what,
            }
        )
    return result


def export_family(user: User, locale: str = "de") -> dict[str, Any]:
    """Everything stored about the parent's family, as plain JSON-ready values."""
    household = _household(user)
    apps = _applications(household)
    data: dict[str, Any] = {
        "format": "kitaplatz-family-export/1",
        "account": {
            "email": user.email,
            "language": user.locale,
            "created_at": _iso(user.created_at),
            "confirmed_at": _iso(user.confirmed_at),
            "last_login_at": _iso(user.last_login_at),
        },
        "household": None,
        "children": [],
        "applications": [],
        "mails": [],
        "viewed_by": [],
    }
    if household is None:
        return data
    data["household"] = {
        "guardians": [
            {"first_name": g.first_name, "last_name": g.last_name} for g in household.guardians
        ],
        "street": household.street,
        "postal_code": household.postal_code,
        "city": household.city,
        "district": household.district,
        "phone": household.phone,
        "language": household.locale,
        "created_at": _iso(household.created_at),
    }
    data["children"] = [
        {
            "id": c.id,
            "first_name": c.first_name,
            "last_name": c.last_name,
            "birth_date": _iso(c.birth_date),
        }
        for c in household.children
    ]
    for a in apps:
        data["applications"].append(
            {
                "reference": a.reference,
                "child": a.child.first_name,
                "round": a.round.name,
                "station": str(a.status),
                "station_label": station_label(a.status),
                "care_type": str(a.care_type),
                "care_type_label": care_type_label(a.care_type),
                "start_date": _iso(a.start_date),
                "weekly_hours": a.weekly_hours,
                "remarks": a.remarks,
                "submitted_at": _iso(a.submitted_at),
                "wishes": [{"rank": w.rank, "facility": w.facility.name} for w in a.wishes],
                "criteria": [
                    {
                        "criterion": c.rule.label(locale),
                        "facility": _facility_name(c.facility_id),
                        "declared": c.declared,
                        "verified": c.verified,
                    }
                    for c in a.criteria
                ],
                "offers": [
                    {
                        "facility": o.facility.name,
                        "status": str(o.status),
                        "deadline": _iso(o.deadline),
                        "answered_at": _iso(o.answered_at),
                    }
                    for o in a.offers
                ],
                "timeline": [
                    {
                        "at": _iso(e.created_at),
                        "station": str(e.to_status),
                        "station_label": station_label(e.to_status),
                        "message": e.message,
                    }
                    for e in a.events
                ],
                "outcome": explain_outcome(a, locale) if is_published(a) else [],
            }
        )
    mails = db.session.scalars(
        select(OutboxMail)
        .where(
            or_(
                OutboxMail.household_id == household.id,
                OutboxMail.application_id.in_([a.id for a in apps] or [-1]),
                OutboxMail.to_address == user.email,
            )
        )
        .order_by(OutboxMail.id)
    ).all()
    data["mails"] = [
        {"at": _iso(m.created_at), "subject": m.subject, "status": str(m.status)} for m in mails
    ]
    data["viewed_by"] = [{k: v for k, v in r.items() if k != "at_dt"} for r in viewers(household)]
    return data


def _facility_name(facility_id: int | None) -> str | None:
    if facility_id is None:
        return None
    from kita.models import Facility

    fac = db.session.get(Facility, facility_id)
    return fac.name if fac is not None else None


def deletion_blockers(user: User) -> list[str]:
    """Reasons why the account cannot be deleted now (empty: it can)."""
    household = _household(user)
    reasons = []
    for a in _applications(household):
        pending = db.session.scalars(
            select(Offer).where(Offer.application_id == a.id, Offer.status == OfferStatus.ACCEPTED)
        ).all()
        for offer in pending:
            enrollment = offer.enrollment
            if enrollment is None or enrollment.status != EnrollmentStatus.CONFIRMED:
                reasons.append(
                    str(
                        _l(
                            "%(name)s has accepted a place at %(facility)s (%(ref)s) and the "
                            "facility has not yet confirmed the enrollment. Please wait for the "
                            "confirmation or withdraw the application first.",
                            name=a.child.first_name,
                            facility=offer.facility.name,
                            ref=a.reference,
                        )
                    )
                )
        if a.legal_hold:
            reasons.append(
                str(
                    _l(
                        "The coordination office must keep the application %(ref)s for now. "
                        "Please contact them.",
                        ref=a.reference,
                    )
                )
            )
    return reasons


def delete_account(user: User) -> None:
    """Delete the account and every personal record of the family.

    Refused (``NotAllowed`` with the reason) while an accepted place waits for the
    facility's confirmation. Audit rows stay (append-only) but keep only ids and a
    pseudonymous actor reference.
    """
    reasons = deletion_blockers(user)
    if reasons:
        raise NotAllowed(" ".join(reasons))
    household = _household(user)
    apps = _applications(household)
    app_ids = [a.id for a in apps]
    user_id = user.id
    email = user.email
    try:
        audit.record(
            None,
            "account.deleted",
            object_type="user",
            object_id=user_id,
            applications=[a.reference for a in apps],
        )
        if app_ids:
            offer_ids = select(Offer.id).where(Offer.application_id.in_(app_ids))
            db.session.execute(delete(Enrollment).where(Enrollment.offer_id.in_(offer_ids)))
            db.session.execute(
                delete(AllocationOverride).where(AllocationOverride.application_id.in_(app_ids))
            )
            # other families' applications merged into these: named by id, so that only
            # their households' cached overviews are renewed, not every family's
            merged = db.session.scalars(
                select(Application.id).where(Application.merged_into_id.in_(app_ids))
            ).all()
            if merged:
                db.session.execute(
                    update(Application)
                    .where(Application.id.in_(merged))
                    .values(merged_into_id=None)
                    .execution_options(synchronize_session=False)
                )
            db.session.execute(delete(OutboxMail).where(OutboxMail.application_id.in_(app_ids)))
        if household is not None:
            db.session.execute(delete(OutboxMail).where(OutboxMail.household_id == household.id))
        db.session.execute(delete(OutboxMail).where(OutboxMail.to_address == email))
        db.session.execute(delete(FailedLogin).where(FailedLogin.email == email))
        for a in apps:
            db.session.delete(a)  # wishes, criteria, events, notes, offers cascade
        db.session.flush()
        if household is not None:
            db.session.delete(household)  # guardians and children cascade
        db.session.flush()
        # audit rows keep the pseudonymous actor_ref; the link to the user row goes
        db.session.execute(
            update(AuditEvent)
            .where(AuditEvent.actor_id == user_id)
            .values(actor_id=None)
            .execution_options(synchronize_session=False)
        )
        db.session.delete(user)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
