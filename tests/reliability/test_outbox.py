"""Outbox: back-off, dead after N attempts, shown to the office; /healthz."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import time_machine
from sqlalchemy import select

from kita import jobs
from kita.extensions import db
from kita.models import MailStatus, OutboxMail, Role, SchedulerLock, utcnow
from kita.services import notifications
from tests.reliability.helpers import free_port
from tests.reliability.sink import SmtpSink


def test_backoff_dead_visible_and_retried(app: Any, login_as: Any, client: Any) -> None:
    port = free_port()
    app.config.update(
        MAIL_BACKEND="smtp",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=port,
        MAIL_STARTTLS=False,
        MAIL_MAX_ATTEMPTS=3,
        MAIL_RETRY_BASE_SECONDS=60,
    )
    with app.test_request_context("/"):
        notifications.queue(
            "status_changed",
            to="familie@example.org",
            reference="KV-2027-00001",
            station="submitted",
            first_name="Mia",
            url="http://x",
            message=None,
        )
    db.session.commit()
    start = utcnow()
    delays = []
    for _ in range(3):
        mail = db.session.scalar(select(OutboxMail))
        with time_machine.travel(mail.next_attempt_at + timedelta(seconds=1), tick=False):
            jobs.send_outbox()
            db.session.refresh(mail)
            delays.append((mail.next_attempt_at - utcnow()).total_seconds())
    assert mail.status == MailStatus.DEAD and mail.attempts == 3
    assert round(delays[0]) == 60 and round(delays[1]) == 120  # exponential back-off
    assert "ConnectionRefused" in mail.last_error
    assert start is not None

    login_as(Role.OFFICE)
    page = client.get("/office/mail").get_data(as_text=True)
    assert "familie@example.org" in page and "Endgültig fehlgeschlagen" in page
    sink = SmtpSink(port)
    sink.start()
    try:
        assert client.post(f"/office/mail/{mail.id}/retry").status_code == 302
        jobs.send_outbox()
    finally:
        sink.stop()
    db.session.refresh(mail)
    assert mail.status == MailStatus.SENT
    assert [r["message_id"] for r in sink.received] == [mail.message_id]


def test_healthz_reports_database_and_heartbeat(app: Any, client: Any) -> None:
    body = client.get("/healthz").get_json()
    assert body["database"] == "ok" and body["scheduler"]["status"] == "missing"
    db.session.add(SchedulerLock(name="scheduler", holder="h:1:x", heartbeat_at=utcnow()))
    db.session.commit()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["scheduler"]["status"] == "ok"
    with time_machine.travel(utcnow() + timedelta(minutes=10), tick=False):
        assert client.get("/healthz").get_json()["scheduler"]["status"] == "stale"
