"""Retention: personal data of closed applications is deleted after its period.

Policy (``Setting`` rows the office sets, see :func:`set_policy`):

* ``retention_months``: months after the application was closed (placed, withdrawn,
  rejected, declined, expired). Empty (the default): the end of the care year
  (31 July) after the closing.
* ``retention_notice_days`` (default 14): the family gets a notice this many days
  before; nothing is deleted until the notice went out and that many days passed.

What is deleted: the child's name and exact birth date (kept: year and month), the
free texts of the application, criteria, internal notes, messages of the timeline,
the mails of the application; once none of its children has anything left to keep,
the household's address, phone and guardians. What stays, for statistics: the
application row under a pseudonymous reference with round, care type, start date,
wishes (facilities and ranks), offers and stations.

A record under legal hold or objection (``Application.legal_hold``, set and lifted by
the office with a reason, both audited) is never deleted.

Audit rows are append-only everywhere else; retention is the one documented path that
rewrites them. It sets ``_retention_rewrite = True`` on each row it changes and
replaces personal references (the parent's ``actor_id``, object ids, references in
``details``) by pseudonyms (keyed hashes: the same person or record always gets the
same pseudonym, so statistics over the audit log still add up).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import UTC, date, datetime, time, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, delete, or_, select, update

from kita.errors import InvalidTransition, ValidationFailed
from kita.extensions import db
from kita.models import (
    CLOSED_STATUSES,
    Application,
    ApplicationCriterion,
    AuditEvent,
    Child,
    InternalNote,
    MailStatus,
    OutboxMail,
    Role,
    Setting,
    StatusEvent,
    User,
    utcnow,
)
from kita.services import audit, notifications

log = logging.getLogger("kita.retention")

NOTICE_DAYS = 14
#: details keys of audit rows that carry no personal data and are kept as they are
_SAFE_DETAIL_KEYS = {"from_status", "to_status", "facility", "alternative"}


# --- policy -------------------------------------------------------------------------------


def _setting(key: str) -> str:
    row = db.session.get(Setting, key)
    return row.value.strip() if row is not None and row.value else ""


def policy() -> tuple[int | None, int]:
    """(months after closing or None for the end of the care year, notice days)."""
    months = _setting("retention_months")
    notice = _setting("retention_notice_days")
    return (
        int(months) if months.isdigit() else None,
        int(notice) if notice.isdigit() else NOTICE_DAYS,
    )


def set_policy(actor: User, months: int | None, notice_days: int) -> None:
    """The office sets the retention period (audited)."""
    errors: dict[str, list[str]] = {}
    if months is not None and not (1 <= months <= 120):
        errors["months"] = [str(_l("Please enter between 1 and 120 months."))]
    if not (1 <= notice_days <= 90):
        errors["notice_days"] = [str(_l("Please enter between 1 and 90 days."))]
    if errors:
        raise ValidationFailed(errors)
    for key, value in (
        ("retention_months", "" if months is None else str(months)),
        ("retention_notice_days", str(notice_days)),
    ):
        row = db.session.get(Setting, key)
        if row is None:
            db.session.add(Setting(key=key, value=value))
        else:
            row.value = value
    audit.record(
        actor, "retention.policy", object_type="setting", months=months, notice_days=notice_days
    )
    db.session.commit()


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def due_date(closed_at: datetime, months: int | None) -> datetime:
    """When the personal data of an application closed at ``closed_at`` is deleted."""
    closed = closed_at.astimezone(UTC).date()
    if months is not None:
        day = _add_months(closed, months)
    else:
        day = date(closed.year, 7, 31)
        if closed > day:
            day = date(closed.year + 1, 7, 31)
        day += timedelta(days=1)  # the day after the care year ended
    return datetime.combine(day, time.min, tzinfo=UTC)


# --- legal hold ---------------------------------------------------------------------------


def set_legal_hold(actor: User, application: Application, reason: str) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": [str(_l("Please enter a reason."))]})
    if application.pseudonymised_at is not None:
        raise InvalidTransition(str(_l("The personal data of this application is deleted.")))
    application.legal_hold = True
    application.legal_hold_reason = reason[:2000]
    audit.record(actor, "application.legal_hold", application, reason=reason[:2000])
    db.session.commit()


def lift_legal_hold(actor: User, application: Application, reason: str) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": [str(_l("Please enter a reason."))]})
    if not application.legal_hold:
        raise InvalidTransition(str(_l("This application is not on hold.")))
    application.legal_hold = False
    application.legal_hold_reason = None
    audit.record(actor, "application.legal_hold_lifted", application, reason=reason[:2000])
    db.session.commit()


# --- pseudonyms -----------------------------------------------------------------------------


def pseudonym(kind: str, value: object) -> str:
    """A stable keyed pseudonym, e.g. ``ps-3f9a0c1d2e4b5a67`` (not reversible)."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    digest = hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:16]
    return f"ps-{digest}"


# --- the job ------------------------------------------------------------------------------


def _candidates(now: datetime, months: int | None, notice_days: int) -> list[int]:
    """Closed, not held, not yet pseudonymised applications whose notice time has come."""
    rows = db.session.execute(
        select(Application.id, Application.closed_at).where(
            Application.status.in_(CLOSED_STATUSES),
            Application.closed_at.is_not(None),
            Application.pseudonymised_at.is_(None),
            Application.legal_hold.is_(False),
        )
    ).all()
    db.session.rollback()
    notice = timedelta(days=notice_days)
    return [
        app_id
        for app_id, closed in rows
        if closed is not None and due_date(closed, months) - notice <= now
    ]


def run(now: datetime | None = None) -> dict[str, int]:
    """Send due notices and delete what is past its period (idempotent)."""
    now = now or utcnow()
    months, notice_days = policy()
    counts = {"noticed": 0, "deleted": 0}
    for app_id in _candidates(now, months, notice_days):
        application = db.session.get(Application, app_id)
        if application is None or application.closed_at is None:
            continue
        due = due_date(application.closed_at, months)
        if application.retention_notice_at is None:
            if _send_notice(application, due, now):
                counts["noticed"] += 1
            continue
        if now < max(due, application.retention_notice_at + timedelta(days=notice_days)):
            db.session.rollback()
            continue
        if not _notice_delivered(application):
            db.session.rollback()
            continue
        if pseudonymise(application, now):
            counts["deleted"] += 1
    return counts


def _send_notice(application: Application, due: datetime, now: datetime) -> bool:
    claimed = db.session.execute(
        update(Application)
        .where(
            Application.id == application.id,
            Application.retention_notice_at.is_(None),
            Application.legal_hold.is_(False),
        )
        .values(retention_notice_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if claimed != 1:
        db.session.rollback()
        return False
    notifications.mail_family(
        "retention_notice",
        application,
        due=max(due, now + timedelta(days=policy()[1])),
    )
    audit.record(None, "retention.notice", application, reference=application.reference)
    db.session.commit()
    return True


def _notice_delivered(application: Application) -> bool:
    """The notice left (mail sent, or a letter for the office to print)."""
    return (
        db.session.scalar(
            select(OutboxMail.id).where(
                OutboxMail.application_id == application.id,
                OutboxMail.kind == "retention_notice",
                OutboxMail.status.in_([MailStatus.SENT, MailStatus.LETTER]),
            )
        )
        is not None
    )


def pseudonymise(application: Application, now: datetime | None = None) -> bool:
    """Delete the personal data of one application (see the module docstring)."""
    now = now or utcnow()
    claimed = db.session.execute(
        update(Application)
        .where(
            Application.id == application.id,
            Application.pseudonymised_at.is_(None),
            Application.legal_hold.is_(False),
            Application.status.in_(CLOSED_STATUSES),
        )
        .values(pseudonymised_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if claimed != 1:
        db.session.rollback()
        return False
    try:
        db.session.refresh(application)
        child = application.child
        household = child.household
        parent_user_id = household.user_id
        offer_ids = [o.id for o in application.offers]
        old_reference = application.reference

        application.reference = pseudonym("application", application.id)[:20]
        application.remarks = ""
        application.reject_reason = None
        application.flag_reason = None
        application.outcome = None
        application.created_by_id = None
        db.session.execute(
            delete(ApplicationCriterion).where(
                ApplicationCriterion.application_id == application.id
            )
        )
        db.session.execute(
            delete(InternalNote).where(InternalNote.application_id == application.id)
        )
        db.session.execute(
            update(StatusEvent)
            .where(StatusEvent.application_id == application.id)
            .values(message=None, actor_id=None)
            .execution_options(synchronize_session=False)
        )
        db.session.execute(
            delete(OutboxMail).where(
                OutboxMail.application_id == application.id,
                OutboxMail.status != MailStatus.PENDING,
            )
        )
        db.session.execute(
            update(OutboxMail)
            .where(OutboxMail.application_id == application.id)
            .values(application_id=None)
            .execution_options(synchronize_session=False)
        )
        child_done = _child_done(child, application.id)
        if child_done:
            child.first_name = "—"
            child.last_name = pseudonym("child", child.id)
            child.birth_date = child.birth_date.replace(day=1)
        household_done = child_done and all(
            c.id == child.id or _child_done(c, None) for c in household.children
        )
        if household_done and household.pseudonymised_at is None:
            household.street = ""
            household.postal_code = ""
            household.phone = None
            household.contact_email = None
            household.pseudonymised_at = now
            for guardian in list(household.guardians):
                db.session.delete(guardian)
            db.session.execute(
                delete(OutboxMail).where(
                    OutboxMail.household_id == household.id,
                    OutboxMail.status != MailStatus.PENDING,
                )
            )

        objects: list[tuple[str, object]] = [("application", application.id)]
        objects += [("offer", oid) for oid in offer_ids]
        if child_done:
            objects.append(("child", child.id))
        if household_done:
            objects.append(("household", household.id))
        rewritten = _rewrite_audit(objects, old_reference, application.reference, parent_user_id)
        audit.record(
            None,
            "retention.delete",
            object_type="application",
            object_id=application.reference,
            audit_rows=rewritten,
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    log.info("retention deleted application data", extra={"event": "retention.delete"})
    return True


def _child_done(child: Child, except_app: int | None) -> bool:
    """The child has no application that still needs its personal data."""
    for other in db.session.scalars(select(Application).where(Application.child_id == child.id)):
        if other.id == except_app:
            continue
        if other.pseudonymised_at is None or other.legal_hold:
            return False
    return True


def _rewrite_audit(
    objects: list[tuple[str, object]], old_reference: str, new_reference: str, parent_id: int | None
) -> int:
    """Replace personal references in the audit rows of ``objects`` (the one rewrite path)."""
    conditions = [
        and_(AuditEvent.object_type == kind, AuditEvent.object_id == str(oid))
        for kind, oid in objects
    ]
    conditions.append(AuditEvent.details.contains(old_reference))
    rows = db.session.scalars(select(AuditEvent).where(or_(*conditions))).all()
    mapping = {(kind, str(oid)): pseudonym(kind, oid) for kind, oid in objects}
    for row in rows:
        row._retention_rewrite = True  # type: ignore[attr-defined]
        key = (row.object_type or "", row.object_id or "")
        if key in mapping:
            row.object_id = mapping[key]
        if row.actor_role == Role.PARENT.value or (
            parent_id is not None and row.actor_id == parent_id
        ):
            row.actor_ref = pseudonym("user", row.actor_id or row.actor_ref)
            row.actor_id = None
            row.ip = None
        row.details = _scrub_details(row.details, old_reference, new_reference)
        row.retention_rewrites = (row.retention_rewrites or 0) + 1
    db.session.flush()
    return len(rows)


def _scrub_details(details: str, old_reference: str, new_reference: str) -> str:
    if not details:
        return details
    try:
        data = json.loads(details)
    except ValueError:
        return json.dumps({"pseudonymised": True})
    if not isinstance(data, dict):
        return json.dumps({"pseudonymised": True})
    kept = {k: v for k, v in data.items() if k in _SAFE_DETAIL_KEYS}
    if "reference" in data:
        kept["reference"] = new_reference
    kept["pseudonymised"] = True
    text = json.dumps(kept, ensure_ascii=False)
    return text.replace(old_reference, new_reference)


# --- the office's view ----------------------------------------------------------------------


def held_applications() -> list[Application]:
    return list(
        db.session.scalars(
            select(Application).where(Application.legal_hold.is_(True)).order_by(Application.id)
        )
    )


def find_by_reference(reference: str) -> Application | None:
    return db.session.scalar(
        select(Application).where(Application.reference == (reference or "").strip().upper())
    )
