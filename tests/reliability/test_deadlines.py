"""Offer reminders, offer expiry, re-confirmation and retention with a frozen clock."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

from kita import jobs
from kita.extensions import db
from kita.models import (
    Application,
    AuditEvent,
    AuditImmutable,
    Child,
    Guardian,
    Household,
    MailStatus,
    Offer,
    OfferStatus,
    OutboxMail,
    Status,
    StatusEvent,
    User,
)
from kita.services import applications, retention
from tests.reliability.helpers import family, mails_to, open_offer

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def _kinds(to: str, sent: list[Any]) -> list[str]:
    return [m["Subject"] for m in mails_to(sent, to)]


def test_offer_reminder_then_expiry(
    app: Any, municipality: dict[str, Any], sent_mails: list
) -> None:
    round_ = municipality["round"]
    fac = municipality["facilities"]["sonnenschein"].id
    with time_machine.travel(T0, tick=False):
        due = [family(round_, fac, i) for i in range(1, 4)]
        later = family(round_, fac, 4)
        deadline = T0 + timedelta(days=14)
        offers = [open_offer(a, fac, deadline) for a in due]
        later_offer = open_offer(later, fac, T0 + timedelta(days=30))
        db.session.commit()
        assert jobs.offer_reminders() == 0  # 14 days left: too early

    with time_machine.travel(deadline - timedelta(days=2, hours=23), tick=False):
        assert jobs.offer_reminders() == 3
        assert jobs.offer_reminders() == 0  # idempotent: reminder_sent_at guards
        jobs.send_outbox()
    reminders = db.session.scalars(
        select(OutboxMail).where(OutboxMail.kind == "offer_reminder")
    ).all()
    assert sorted(m.application_id for m in reminders) == sorted(a.id for a in due)
    assert all(m.status == MailStatus.SENT for m in reminders)
    assert db.session.get(Offer, later_offer.id).reminder_sent_at is None

    with time_machine.travel(deadline - timedelta(minutes=1), tick=False):
        assert jobs.expire_offers() == 0  # not yet
    with time_machine.travel(deadline + timedelta(minutes=1), tick=False):
        assert jobs.expire_offers() == 3
        assert jobs.expire_offers() == 0
        jobs.send_outbox()

    for application, offer in zip(due, offers, strict=True):
        db.session.refresh(application)
        db.session.refresh(offer)
        assert application.status == Status.EXPIRED
        assert offer.status == OfferStatus.EXPIRED
        events = db.session.scalars(
            select(StatusEvent).where(
                StatusEvent.application_id == application.id,
                StatusEvent.to_status == Status.EXPIRED,
            )
        ).all()
        assert len(events) == 1
        # the parent got the reminder before the expiry notice
        mails = db.session.scalars(
            select(OutboxMail)
            .where(OutboxMail.application_id == application.id)
            .order_by(OutboxMail.id)
        ).all()
        assert [m.kind for m in mails] == ["offer_reminder", "offer_expired"]
        assert mails[0].sent_at < mails[1].created_at
        to = application.child.household.user.email
        subjects = _kinds(to, sent_mails)
        assert len(subjects) == 2 and "Erinnerung" in subjects[0]
    db.session.refresh(later)
    assert later.status == Status.OFFERED
    assert db.session.get(Offer, later_offer.id).status == OfferStatus.OPEN


def test_reconfirmation_asks_reminds_and_withdraws(
    app: Any, municipality: dict[str, Any], sent_mails: list
) -> None:
    round_ = municipality["round"]
    fac = municipality["facilities"]["sonnenschein"].id
    with time_machine.travel(T0, tick=False):
        quiet = family(round_, fac, 1, status=Status.WAITLIST)
        answering = family(round_, fac, 2, status=Status.WAITLIST)
        released = family(round_, fac, 3, status=Status.RELEASED)
        round_.reconfirmation_date = date(2027, 4, 1)
        db.session.commit()
        assert jobs.reconfirmation() == {"requested": 0, "reminded": 0, "withdrawn": 0}
    with time_machine.travel(datetime(2027, 4, 1, 8, tzinfo=UTC), tick=False):
        assert jobs.reconfirmation()["requested"] == 2
        assert jobs.reconfirmation()["requested"] == 0  # once per year
        jobs.send_outbox()
    parent = db.session.get(User, answering.child.household.user_id)
    from kita.services import reminders

    db.session.refresh(answering)
    reminders.reconfirm(parent, answering)
    reminders.reconfirm(parent, answering)  # a second click changes nothing
    with time_machine.travel(datetime(2027, 4, 27, 8, tzinfo=UTC), tick=False):
        result = jobs.reconfirmation()
        assert result == {"requested": 0, "reminded": 1, "withdrawn": 0}
        jobs.send_outbox()
    with time_machine.travel(datetime(2027, 4, 29, 9, tzinfo=UTC), tick=False):
        assert jobs.reconfirmation()["withdrawn"] == 1
        assert jobs.reconfirmation()["withdrawn"] == 0
        jobs.send_outbox()
    for a in (quiet, answering, released):
        db.session.refresh(a)
    assert quiet.status == Status.WITHDRAWN
    assert answering.status == Status.WAITLIST
    assert released.status == Status.RELEASED
    kinds = db.session.scalars(
        select(OutboxMail.kind).where(OutboxMail.application_id == quiet.id).order_by(OutboxMail.id)
    ).all()
    assert kinds == ["reconfirmation_request", "reconfirmation_reminder", "status_changed"]
    assert db.session.scalars(
        select(OutboxMail.kind).where(OutboxMail.application_id == answering.id)
    ).all() == ["reconfirmation_request"]


def _audit_rows_mentioning(text: str) -> list[AuditEvent]:
    return [
        row
        for row in db.session.scalars(select(AuditEvent)).all()
        if text in (row.details or "") or text == row.object_id
    ]


def test_retention_notice_then_pseudonymisation(
    app: Any, municipality: dict[str, Any], sent_mails: list
) -> None:
    round_ = municipality["round"]
    fac = municipality["facilities"]["sonnenschein"].id
    closed_at = datetime(2027, 3, 10, 12, tzinfo=UTC)
    with time_machine.travel(closed_at, tick=False):
        gone = family(round_, fac, 1, status=Status.SUBMITTED)
        held = family(round_, fac, 2, status=Status.SUBMITTED)
        letter = family(round_, fac, 3, status=Status.SUBMITTED, email=False)
        still_open = family(round_, fac, 4, status=Status.WAITLIST)
        db.session.commit()
        parent = db.session.get(User, gone.child.household.user_id)
        applications.withdraw(parent, gone, message="Wir ziehen nach Mannheim, Familie Muster1")
        applications.withdraw(None, held, message="Umzug")
        applications.withdraw(None, letter, message="Umzug")
        jobs.send_outbox()
    parent_id = parent.id
    gone_id, gone_ref = gone.id, gone.reference
    household_id = gone.child.household_id
    child_id = gone.child_id
    offers_before = db.session.scalars(select(Offer)).all()
    assert offers_before == []

    from kita.models import Role
    from kita.services.accounts import create_user

    staff = create_user(
        "amt@example.org", "ein sicheres Passwort", Role.OFFICE, check_password=False
    )
    retention.set_legal_hold(staff, held, "Widerspruch der Familie, Verfahren läuft")
    with pytest.raises(AuditImmutable):
        row = db.session.scalars(select(AuditEvent)).first()
        row.details = "changed"
        db.session.commit()
    db.session.rollback()

    with time_machine.travel(datetime(2027, 7, 1, 3, tzinfo=UTC), tick=False):
        assert jobs.retention() == {"noticed": 0, "deleted": 0}
    with time_machine.travel(datetime(2027, 7, 18, 2, tzinfo=UTC), tick=False):
        assert jobs.retention() == {"noticed": 2, "deleted": 0}  # gone + letter, not held
        assert jobs.retention() == {"noticed": 0, "deleted": 0}
        notice_time = datetime.now(UTC)
        jobs.send_outbox()
    notice = mails_to(sent_mails, "eltern001@example.org")[-1]
    assert "gelöscht" in notice["Subject"]
    assert gone_ref in notice["Subject"]
    letter_notice = db.session.scalar(
        select(OutboxMail).where(
            OutboxMail.application_id == letter.id, OutboxMail.kind == "retention_notice"
        )
    )
    assert letter_notice is not None and letter_notice.status == MailStatus.LETTER

    with time_machine.travel(datetime(2027, 7, 31, 23, tzinfo=UTC), tick=False):
        assert jobs.retention()["deleted"] == 0  # the care year has not ended
    with time_machine.travel(datetime(2027, 8, 1, 3, tzinfo=UTC), tick=False):
        assert jobs.retention() == {"noticed": 0, "deleted": 2}
        assert jobs.retention() == {"noticed": 0, "deleted": 0}
        deleted_time = datetime.now(UTC)
    assert notice_time < deleted_time

    db.session.expire_all()
    gone = db.session.get(Application, gone_id)
    child = db.session.get(Child, child_id)
    household = db.session.get(Household, household_id)
    assert gone.pseudonymised_at is not None
    assert gone.reference != gone_ref and gone.reference.startswith("ps-")
    assert gone.remarks == "" and gone.status == Status.WITHDRAWN
    assert [w.facility_id for w in gone.wishes] == [fac]  # statistics stay
    assert child.first_name == "—" and "Muster" not in child.last_name
    assert child.birth_date == date(2024, 3, 1)
    assert household.street == "" and household.phone is None
    assert (
        db.session.scalars(select(Guardian).where(Guardian.household_id == household_id)).all()
        == []
    )
    assert all(e.message is None and e.actor_id is None for e in gone.events)
    assert (
        db.session.scalars(select(OutboxMail).where(OutboxMail.application_id == gone_id)).all()
        == []
    )

    # the audit keeps only pseudonymous ids
    assert _audit_rows_mentioning(gone_ref) == []
    rows = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.object_id == retention.pseudonym("application", gone_id)
        )
    ).all()
    assert {r.action for r in rows} >= {"application.withdraw", "retention.notice"}
    for r in rows:
        if r.action == "retention.delete":
            continue
        assert r.actor_id != parent_id
        assert r.retention_rewrites == 1
        assert "Mannheim" not in r.details
    assert not db.session.scalars(select(AuditEvent).where(AuditEvent.actor_id == parent_id)).all()
    deletion = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "retention.delete"))
    assert deletion is not None and deletion.object_id == gone.reference
    assert json.loads(deletion.details)["audit_rows"] >= 2

    # on hold: untouched; open: untouched
    db.session.refresh(held)
    assert held.pseudonymised_at is None and held.child.first_name == "Kind2"
    assert held.retention_notice_at is None
    db.session.refresh(still_open)
    assert still_open.child.first_name == "Kind4" and still_open.retention_notice_at is None

    # lifting the hold (with a reason) lets retention proceed: notice first
    retention.lift_legal_hold(staff, held, "Verfahren abgeschlossen")
    with time_machine.travel(datetime(2027, 8, 2, 3, tzinfo=UTC), tick=False):
        assert jobs.retention() == {"noticed": 1, "deleted": 0}
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_id == str(held.id))
    ).all()
    assert "application.legal_hold" in actions and "application.legal_hold_lifted" in actions
