"""Reminders before deadlines and the yearly re-confirmation of waiting-list entries.

Every step is guarded by a conditional update on the row it stamps
(``Offer.reminder_sent_at IS NULL``, ``Application.reconfirm_requested_at`` …), committed
with the mail it queues, so that two scheduler runs, a restart or an overlap never
send a reminder twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select, update

from kita.errors import Conflict, InvalidTransition, NotAllowed
from kita.extensions import db
from kita.models import (
    Application,
    Offer,
    OfferStatus,
    Round,
    Setting,
    Status,
    User,
    utcnow,
)
from kita.services import audit, notifications

log = logging.getLogger("kita.reminders")

#: days before an offer's deadline when the family is reminded
OFFER_REMINDER_DAYS = 3
#: days before the re-confirmation deadline when the family is reminded
RECONFIRM_REMINDER_DAYS = 3
#: days a family has to re-confirm a waiting-list entry (Setting ``reconfirmation_days``)
RECONFIRM_DAYS = 28


def _int_setting(key: str, default: int) -> int:
    row = db.session.get(Setting, key)
    try:
        return int(row.value) if row is not None and row.value.strip() else default
    except ValueError:
        return default


def _mail(kind: str, application: Application, **context: object) -> None:
    notifications.mail_family(
        kind,
        application,
        url=notifications.external_url("parents.application", app_id=application.id),
        **context,
    )


def _claim_each(
    model: Any,
    ids: Sequence[int],
    guard: Sequence[Any],
    values: dict[str, Any],
    act: Callable[[Any], None],
) -> int:
    """For each id: claim the row with a conditional update (``guard`` still true, set
    ``values``), then ``act`` on it and commit, one row per transaction. A row another
    process claimed first is skipped, so a job run twice never mails twice."""
    done = 0
    for obj_id in ids:
        claimed = db.session.execute(
            update(model)
            .where(model.id == obj_id, *guard)
            .values(**values)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if claimed != 1:
            db.session.rollback()
            continue
        obj = db.session.get(model, obj_id)
        assert obj is not None
        db.session.refresh(obj)
        act(obj)
        db.session.commit()
        done += 1
    return done


# --- offers ------------------------------------------------------------------------------


def send_offer_reminders(now: datetime | None = None) -> int:
    """Remind families of open offers whose deadline is at most three days away."""
    now = now or utcnow()
    ids = db.session.scalars(
        select(Offer.id)
        .where(
            Offer.status == OfferStatus.OPEN,
            Offer.reminder_sent_at.is_(None),
            Offer.deadline > now,
            Offer.deadline <= now + timedelta(days=OFFER_REMINDER_DAYS),
        )
        .order_by(Offer.id)
    ).all()
    db.session.rollback()

    def remind(offer: Offer) -> None:
        _mail(
            "offer_reminder",
            offer.application,
            facility_name=offer.facility.name,
            deadline=offer.deadline,
        )
        audit.record(None, "offer.reminder", offer, reference=offer.application.reference)

    return _claim_each(
        Offer,
        ids,
        [Offer.status == OfferStatus.OPEN, Offer.reminder_sent_at.is_(None)],
        {"reminder_sent_at": now},
        remind,
    )


# --- yearly re-confirmation of the waiting list -------------------------------------------


def _start_of(day: object) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)  # type: ignore[arg-type]


def run_reconfirmation(now: datetime | None = None) -> dict[str, int]:
    """Ask, remind, and withdraw: the three steps of the yearly waiting-list check.

    On or after a round's ``reconfirmation_date`` every waiting-list entry of that round
    not yet asked since that date gets a request with a deadline; three days before the
    deadline a reminder; after the deadline an unanswered entry is withdrawn (the family
    was told so in both mails).
    """
    now = now or utcnow()
    counts = {"requested": 0, "reminded": 0, "withdrawn": 0}
    days = _int_setting("reconfirmation_days", RECONFIRM_DAYS)
    rounds = db.session.scalars(
        select(Round).where(Round.reconfirmation_date.is_not(None), Round.closed_at.is_(None))
    ).all()
    due_rounds = [(r.id, _start_of(r.reconfirmation_date)) for r in rounds]
    db.session.rollback()
    for round_id, since in due_rounds:
        if since > now:
            continue
        ids = db.session.scalars(
            select(Application.id).where(
                Application.round_id == round_id,
                Application.status == Status.WAITLIST,
                or_(
                    Application.reconfirm_requested_at.is_(None),
                    Application.reconfirm_requested_at < since,
                ),
            )
        ).all()
        db.session.rollback()
        due = now + timedelta(days=days)

        def ask(application: Application, due: datetime = due) -> None:
            _mail(
                "reconfirmation_request",
                application,
                deadline=due,
                confirm_url=notifications.external_url("parents.reconfirm", app_id=application.id),
            )
            audit.record(None, "application.reconfirm_request", application)

        counts["requested"] += _claim_each(
            Application,
            ids,
            [
                Application.status == Status.WAITLIST,
                or_(
                    Application.reconfirm_requested_at.is_(None),
                    Application.reconfirm_requested_at < since,
                ),
            ],
            {
                "reconfirm_requested_at": now,
                "reconfirm_due_at": due,
                "reconfirm_reminded_at": None,
                "reconfirmed_at": None,
            },
            ask,
        )
    counts["reminded"] = _remind_reconfirmation(now)
    counts["withdrawn"] = _withdraw_unconfirmed(now)
    return counts


def _open_requests() -> object:
    return and_(
        Application.status == Status.WAITLIST,
        Application.reconfirm_due_at.is_not(None),
        Application.reconfirmed_at.is_(None),
    )


def _remind_reconfirmation(now: datetime) -> int:
    ids = db.session.scalars(
        select(Application.id).where(
            _open_requests(),  # type: ignore[arg-type]
            Application.reconfirm_reminded_at.is_(None),
            Application.reconfirm_due_at > now,
            Application.reconfirm_due_at <= now + timedelta(days=RECONFIRM_REMINDER_DAYS),
        )
    ).all()
    db.session.rollback()

    def remind(application: Application) -> None:
        _mail(
            "reconfirmation_reminder",
            application,
            deadline=application.reconfirm_due_at,
            confirm_url=notifications.external_url("parents.reconfirm", app_id=application.id),
        )
        audit.record(None, "application.reconfirm_reminder", application)

    return _claim_each(
        Application,
        ids,
        [_open_requests(), Application.reconfirm_reminded_at.is_(None)],
        {"reconfirm_reminded_at": now},
        remind,
    )


def _withdraw_unconfirmed(now: datetime) -> int:
    from kita.services.applications import transition

    ids = db.session.scalars(
        select(Application.id).where(
            _open_requests(),  # type: ignore[arg-type]
            Application.reconfirm_due_at <= now,
        )
    ).all()
    db.session.rollback()
    done = 0
    for app_id in ids:
        application = db.session.get(Application, app_id)
        if application is None or application.status != Status.WAITLIST:
            continue
        try:
            # a waiting-list entry holds no offer: the plain transition is the whole step
            transition(
                application,
                "withdraw",
                None,
                message=str(_l("The place on the waiting list was not confirmed in time.")),
            )
        except (Conflict, InvalidTransition):
            db.session.rollback()
            continue
        done += 1
    return done


def reconfirm(actor: User, application: Application) -> None:
    """The family confirms that it still needs a place (stays on the waiting list)."""
    if application.status != Status.WAITLIST or application.reconfirm_due_at is None:
        raise InvalidTransition(str(_l("Nothing to confirm for this application.")))
    if actor.role.value == "parent" and (application.child.household.user_id != actor.id):
        raise NotAllowed(str(_l("You may not do this.")))
    changed = db.session.execute(
        update(Application)
        .where(
            Application.id == application.id,
            Application.status == Status.WAITLIST,
            Application.reconfirmed_at.is_(None),
        )
        .values(reconfirmed_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if changed != 1:
        db.session.rollback()
        return  # already confirmed: a second click changes nothing
    audit.record(actor, "application.reconfirm", application, reference=application.reference)
    db.session.commit()
    db.session.refresh(application)
