"""E-mails and letters through the outbox.

Every mail is an ``OutboxMail`` row added to the transaction of the change that
caused it, so a mail exists exactly when its change was committed. Delivery
happens later (the scheduler's outbox job, or right after the request in
development), at least once, with a stable Message-ID.
"""

from __future__ import annotations

import secrets
import smtplib
import sys
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from flask import current_app, g, has_request_context, render_template, url_for
from flask_babel import force_locale
from sqlalchemy import or_, select, update

from kita.extensions import db
from kita.models import Application, Household, MailStatus, OutboxMail, utcnow

MAX_ATTEMPTS = 8
CLAIM_SECONDS = 300


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute link for mails, also outside a request (jobs, CLI)."""
    if has_request_context():
        path = url_for(endpoint, **values)
    else:
        with current_app.test_request_context("/"):
            path = url_for(endpoint, **values)
    return current_app.config["BASE_URL"].rstrip("/") + path


def queue(
    kind: str,
    *,
    to: str | None,
    locale: str = "de",
    application: Application | None = None,
    household: Household | None = None,
    **context: Any,
) -> OutboxMail:
    """Render ``templates/email/<kind>.txt`` in the family's language and add it to the outbox.

    The template's first line is ``Subject: …``. Without an address the row becomes a
    letter for the office to print.
    """
    locale = locale if locale in current_app.config["LANGUAGES"] else "de"
    with force_locale(locale):
        context.setdefault("application", application)
        context.setdefault("municipality", current_app.config["MUNICIPALITY_NAME"])
        context.setdefault("office", current_app.config["MUNICIPALITY_OFFICE"])
        rendered = render_template(f"email/{kind}.txt", **context)
    first, _, body = rendered.lstrip().partition("\n")
    subject = first.removeprefix("Subject:").strip()
    domain = current_app.config["MAIL_SENDER"].rsplit("@", 1)[-1].rstrip(">") or "kitaplatz"
    mail = OutboxMail(
        message_id=make_msgid(idstring=secrets.token_hex(6), domain=domain),
        kind=kind,
        to_address=to,
        subject=subject,
        body=body.strip() + "\n",
        locale=locale,
        application_id=application.id if application is not None else None,
        household_id=household.id if household is not None else None,
        status=MailStatus.PENDING if to else MailStatus.LETTER,
    )
    db.session.add(mail)
    if has_request_context():
        g.mail_queued = True
    return mail


def household_address(household: Household | None) -> tuple[str | None, str]:
    """Where a family's mails go (None: letters) and in which language."""
    if household is None:
        return None, "de"
    if household.user is not None:
        return household.user.email, household.user.locale or household.locale
    return household.contact_email, household.locale


def _build_message(mail: OutboxMail) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = current_app.config["MAIL_SENDER"]
    msg["To"] = mail.to_address or ""
    msg["Subject"] = mail.subject
    msg["Message-ID"] = mail.message_id
    msg["Date"] = formatdate(localtime=False)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(mail.body)
    return msg


def _deliver(mail: OutboxMail) -> None:
    backend = current_app.config["MAIL_BACKEND"]
    msg = _build_message(mail)
    if backend == "console":
        print(f"----- mail {mail.message_id} -----\n{msg}", file=sys.stderr)  # noqa: T201
    elif backend == "memory":
        current_app.extensions.setdefault("sent_mails", []).append(msg)
    elif backend == "smtp":
        cfg = current_app.config
        with smtplib.SMTP(cfg["MAIL_SERVER"], int(cfg["MAIL_PORT"]), timeout=30) as smtp:
            if str(cfg["MAIL_STARTTLS"]).lower() in ("1", "true", "yes"):
                smtp.starttls()
            if cfg.get("MAIL_USERNAME"):
                smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"] or "")
            smtp.send_message(msg)
    else:
        raise RuntimeError(f"unknown mail backend {backend!r}")


def send_pending(batch: int = 50) -> dict[str, int]:
    """Deliver due outbox mails; idempotent and safe with two senders (rows are claimed)."""
    now = utcnow()
    ids = db.session.scalars(
        select(OutboxMail.id)
        .where(
            OutboxMail.status == MailStatus.PENDING,
            OutboxMail.next_attempt_at <= now,
            or_(OutboxMail.claimed_until.is_(None), OutboxMail.claimed_until < now),
        )
        .order_by(OutboxMail.id)
        .limit(batch)
    ).all()
    db.session.rollback()
    counts = {"sent": 0, "failed": 0, "dead": 0}
    for mail_id in ids:
        claimed = db.session.execute(
            update(OutboxMail)
            .where(
                OutboxMail.id == mail_id,
                OutboxMail.status == MailStatus.PENDING,
                or_(OutboxMail.claimed_until.is_(None), OutboxMail.claimed_until < now),
            )
            .values(claimed_until=now + timedelta(seconds=CLAIM_SECONDS))
        ).rowcount  # type: ignore[attr-defined]
        db.session.commit()
        if not claimed:
            continue
        mail = db.session.get(OutboxMail, mail_id)
        assert mail is not None
        try:
            _deliver(mail)
        except Exception as exc:  # noqa: BLE001 - any delivery failure is retried
            mail.attempts += 1
            mail.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            mail.claimed_until = None
            if mail.attempts >= MAX_ATTEMPTS:
                mail.status = MailStatus.DEAD
                counts["dead"] += 1
            else:
                mail.next_attempt_at = utcnow() + timedelta(minutes=2**mail.attempts)
                counts["failed"] += 1
        else:
            mail.status = MailStatus.SENT
            mail.sent_at = utcnow()
            mail.attempts += 1
            mail.claimed_until = None
            counts["sent"] += 1
        db.session.commit()
    return counts
