"""E-mails and letters through the outbox.

Every mail is an ``OutboxMail`` row added to the transaction of the change that
caused it, so a mail exists exactly when its change was committed. Delivery
happens later (the scheduler's outbox job, or right after the request in
development), at least once, with a stable Message-ID.
"""

from __future__ import annotations

import logging
import secrets
import smtplib
import ssl
import sys
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from flask import current_app, g, has_request_context, render_template, url_for
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select, update

from kita.extensions import db
from kita.models import Application, Household, MailStatus, OutboxMail, User, utcnow
from kita.services import settings

log = logging.getLogger("kita.mail")

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
        town = settings.municipality()
        context.setdefault("municipality", town.name)
        context.setdefault("office", town.office)
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


def mail_family(kind: str, application: Application, **context: Any) -> OutboxMail:
    """Queue a mail about ``application`` to its family, in the family's language, with
    the child's first name and the reference number."""
    household = application.child.household
    to, locale = household_address(household)
    return queue(
        kind,
        to=to,
        locale=locale,
        application=application,
        household=household,
        first_name=application.child.first_name,
        reference=application.reference,
        **context,
    )


def household_address(household: Household | None) -> tuple[str | None, str]:
    """Where a family's mails go (None: letters) and in which language."""
    if household is None:
        return None, "de"
    if household.user is not None:
        return household.user.email, household.user.locale or household.locale
    return household.contact_email, household.locale


def _build_message(mail: OutboxMail) -> EmailMessage:
    """The MIME message; its Message-ID is the row's, so a re-sent mail is shown once."""
    msg = EmailMessage()
    msg["From"] = current_app.config["MAIL_SENDER"]
    msg["To"] = mail.to_address or ""
    msg["Subject"] = mail.subject
    msg["Message-ID"] = mail.message_id
    msg["Date"] = formatdate((mail.created_at or utcnow()).timestamp(), localtime=False)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(mail.body)
    return msg


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


class MailServerUnreachable(Exception):
    """The mail server could not be reached (connect, STARTTLS or login failed)."""


class _Transport:
    """One delivery channel per batch (one SMTP connection for the whole batch)."""

    def __init__(self) -> None:
        self.backend = current_app.config["MAIL_BACKEND"]
        self.smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        cfg = current_app.config
        smtp = smtplib.SMTP(
            cfg["MAIL_SERVER"], int(cfg["MAIL_PORT"]), timeout=float(cfg.get("MAIL_TIMEOUT", 30))
        )
        try:
            if _truthy(cfg.get("MAIL_STARTTLS", True)):
                smtp.starttls(context=ssl.create_default_context())
            if cfg.get("MAIL_USERNAME"):
                smtp.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD") or "")
        except Exception:
            smtp.close()
            raise
        return smtp

    def send(self, mail: OutboxMail) -> None:
        msg = _build_message(mail)
        if self.backend == "console":
            print(f"----- mail {mail.message_id} -----\n{msg}", file=sys.stderr)  # noqa: T201
        elif self.backend == "memory":
            current_app.extensions.setdefault("sent_mails", []).append(msg)
        elif self.backend == "smtp":
            if self.smtp is None:
                try:
                    self.smtp = self._connect()
                except (OSError, smtplib.SMTPException) as exc:
                    raise MailServerUnreachable(f"{type(exc).__name__}: {exc}") from exc
            try:
                self.smtp.send_message(msg)
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException):
                # the server answered: the connection stays usable for the next mail
                try:
                    self.smtp.rset()
                except Exception:  # noqa: BLE001
                    self.close()
                raise
            except Exception:
                self.close()
                raise
        else:
            raise RuntimeError(f"unknown mail backend {self.backend!r}")

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except Exception:  # noqa: BLE001,S110 - the connection is gone anyway
                pass
            self.smtp = None


def _setting(name: str, default: int | float) -> float:
    return float(current_app.config.get(name, default))


def retry_delay(attempts: int) -> timedelta:
    """Exponential back-off after ``attempts`` failed tries: base·2^(n-1), capped."""
    base = _setting("MAIL_RETRY_BASE_SECONDS", 60)
    cap = _setting("MAIL_RETRY_MAX_SECONDS", 6 * 3600)
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


def send_pending(batch: int | None = None) -> dict[str, int]:
    """Deliver due outbox mails (one batch); idempotent and safe with two senders.

    Each mail is claimed with a conditional update and committed before it is handed
    to the mail server; it is marked sent right after. A sender killed in between
    leaves the claim to run out, and the mail goes again with the same Message-ID
    (at-least-once: only the one mail in flight can be sent twice). A failure backs
    off exponentially; after ``MAIL_MAX_ATTEMPTS`` the mail is dead and shown to the
    office. When the server cannot be reached the rest of the batch waits for the next
    run instead of using up its attempts.
    """
    batch = int(batch or current_app.config.get("MAIL_BATCH_SIZE", 50))
    max_attempts = int(current_app.config.get("MAIL_MAX_ATTEMPTS", MAX_ATTEMPTS))
    claim = timedelta(seconds=_setting("MAIL_CLAIM_SECONDS", CLAIM_SECONDS))
    now = utcnow()
    ids = db.session.scalars(
        select(OutboxMail.id)
        .where(
            OutboxMail.status == MailStatus.PENDING,
            OutboxMail.next_attempt_at <= now,
            or_(OutboxMail.claimed_until.is_(None), OutboxMail.claimed_until < now),
        )
        .order_by(OutboxMail.next_attempt_at, OutboxMail.id)
        .limit(batch)
    ).all()
    db.session.rollback()
    counts = {"sent": 0, "failed": 0, "dead": 0}
    transport = _Transport()
    try:
        for mail_id in ids:
            now = utcnow()
            claimed = db.session.execute(
                update(OutboxMail)
                .where(
                    OutboxMail.id == mail_id,
                    OutboxMail.status == MailStatus.PENDING,
                    or_(OutboxMail.claimed_until.is_(None), OutboxMail.claimed_until < now),
                )
                .values(claimed_until=now + claim)
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]
            db.session.commit()
            if not claimed:
                continue
            mail = db.session.get(OutboxMail, mail_id)
            assert mail is not None
            db.session.refresh(mail)
            try:
                transport.send(mail)
            except Exception as exc:  # noqa: BLE001 - any delivery failure is retried
                _failed(mail, exc, max_attempts, counts)
                if isinstance(exc, MailServerUnreachable):
                    log.warning("mail server unreachable (%s); the outbox waits", exc)
                    break
            else:
                mail.status = MailStatus.SENT
                mail.sent_at = utcnow()
                mail.attempts += 1
                mail.claimed_until = None
                mail.last_error = None
                db.session.commit()
                counts["sent"] += 1
    finally:
        transport.close()
        db.session.rollback()
    if any(counts.values()):
        log.info("outbox batch done", extra={"event": "outbox.batch", **counts})
    return counts


def _failed(mail: OutboxMail, exc: Exception, max_attempts: int, counts: dict[str, int]) -> None:
    mail.attempts += 1
    mail.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    mail.claimed_until = None
    if mail.attempts >= max_attempts:
        mail.status = MailStatus.DEAD
        counts["dead"] += 1
        log.error(
            "mail %s is dead after %d attempts",
            mail.message_id,
            mail.attempts,
            extra={"event": "outbox.dead", "mail_id": mail.id},
        )
    else:
        mail.next_attempt_at = utcnow() + retry_delay(mail.attempts)
        counts["failed"] += 1
    db.session.commit()


# --- the office's view of the outbox ---------------------------------------------------


def dead_mails(limit: int = 200) -> list[OutboxMail]:
    """Mails that failed for good, newest first (the office's mail page)."""
    return list(
        db.session.scalars(
            select(OutboxMail)
            .where(OutboxMail.status == MailStatus.DEAD)
            .order_by(OutboxMail.id.desc())
            .limit(limit)
        )
    )


def retrying_mails(limit: int = 200) -> list[OutboxMail]:
    """Pending mails that failed at least once and wait for their next attempt."""
    return list(
        db.session.scalars(
            select(OutboxMail)
            .where(OutboxMail.status == MailStatus.PENDING, OutboxMail.attempts > 0)
            .order_by(OutboxMail.next_attempt_at)
            .limit(limit)
        )
    )


def outbox_counts() -> dict[str, int]:
    rows = db.session.execute(
        select(OutboxMail.status, func.count()).group_by(OutboxMail.status)
    ).all()
    return {str(status): n for status, n in rows}


def retry_dead(actor: User, mail_id: int) -> OutboxMail:
    """The office sends a dead mail again (e.g. after the address was corrected)."""
    from kita.errors import InvalidTransition, NotFound
    from kita.services import audit

    mail = db.session.get(OutboxMail, mail_id)
    if mail is None:
        raise NotFound("not found")
    changed = db.session.execute(
        update(OutboxMail)
        .where(OutboxMail.id == mail_id, OutboxMail.status == MailStatus.DEAD)
        .values(status=MailStatus.PENDING, attempts=0, next_attempt_at=utcnow(), claimed_until=None)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if changed != 1:
        db.session.rollback()
        raise InvalidTransition(str(_l("This mail is not waiting for a retry.")))
    audit.record(actor, "mail.retry", mail)
    db.session.commit()
    db.session.refresh(mail)
    return mail
