"""Real processes: scheduler processes (and gunicorn workers) against a real SMTP sink."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from kita import create_app
from kita.extensions import db
from kita.models import MailStatus, OutboxMail, SchedulerLock, Status, utcnow
from kita.services.applications import transition
from tests.reliability.conftest import postgres_database
from tests.reliability.helpers import family, free_port, open_offer
from tests.reliability.sink import SmtpSink

ROOT = Path(__file__).resolve().parents[2]


def _env(url: str, smtp_port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KITA_")}
    env.pop("DATABASE_URL", None)
    env.update(
        KITA_ENV="production",
        SECRET_KEY="reliability-test-secret-key-0123456789abcdef",
        KITA_SQLALCHEMY_DATABASE_URI=url,
        KITA_MAIL_BACKEND="smtp",
        KITA_MAIL_SERVER="127.0.0.1",
        KITA_MAIL_PORT=str(smtp_port),
        KITA_MAIL_STARTTLS="false",
        KITA_MAIL_TIMEOUT="5",
        KITA_MAIL_BATCH_SIZE="10",
        KITA_MAIL_RETRY_BASE_SECONDS="0.5",
        KITA_MAIL_RETRY_MAX_SECONDS="1",
        KITA_MAIL_CLAIM_SECONDS="3",
        KITA_SCHEDULER_HEARTBEAT_SECONDS="0.5",
        KITA_SCHEDULER_STALE_SECONDS="3",
        KITA_JOB_INTERVALS=json.dumps(
            {
                "send_outbox": 0.3,
                "offer_reminders": 0.3,
                "expire_offers": 1,
                "reconfirmation": 30,
            }
        ),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


class Procs:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: list[subprocess.Popen[bytes]] = []
        self.n = 0

    def start(self, args: list[str], env: dict[str, str], name: str) -> subprocess.Popen[bytes]:
        self.n += 1
        log = open(self.tmp / f"{self.n:02d}-{name}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        proc.log_path = log.name  # type: ignore[attr-defined]
        self.procs.append(proc)
        return proc

    def scheduler(self, env: dict[str, str]) -> subprocess.Popen[bytes]:
        return self.start(
            [sys.executable, "-m", "flask", "--app", "kita", "scheduler"], env, "sched"
        )

    def stop_all(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


def log_of(proc: subprocess.Popen[bytes]) -> str:
    return Path(proc.log_path).read_text(errors="replace")  # type: ignore[attr-defined]


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Procs]:
    p = Procs(tmp_path)
    yield p
    p.stop_all()


def wait_for(cond: Callable[[], Any], timeout: float, what: str) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = cond()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _outbox(app: Flask) -> list[OutboxMail]:
    with app.app_context():
        rows = db.session.scalars(select(OutboxMail).order_by(OutboxMail.id)).all()
        db.session.expunge_all()
        return list(rows)


def _holder(app: Flask) -> str | None:
    with app.app_context():
        lock = db.session.get(SchedulerLock, "scheduler")
        return lock.holder if lock else None


def test_smtp_down_then_back_and_scheduler_killed_mid_batch(
    app: Flask, municipality: dict[str, Any], procs: Procs, client: Any
) -> None:
    """Offers are published while the mail server is down; nothing is lost or doubled."""
    round_ = municipality["round"]
    fac = municipality["facilities"]["sonnenschein"].id
    offered = []
    for i in range(1, 31):
        application = family(round_, fac, i)
        open_offer(application, fac, utcnow() + timedelta(days=14))
        application.status = Status.RELEASED
        transition(application, "offer", None, commit=False)
        offered.append(application)
    db.session.commit()
    db.session.remove()
    smtp_port = free_port()
    sink = SmtpSink(smtp_port, delay=0.15)
    env = _env(app.config["SQLALCHEMY_DATABASE_URI"], smtp_port)
    try:
        first = procs.scheduler(env)
        second = procs.scheduler(env)

        # the mail server is down: the mails wait (with back-off), the offers are visible
        wait_for(lambda: sum(m.attempts for m in _outbox(app)) >= 2, 30, "failed delivery attempts")
        mails = _outbox(app)
        assert len(mails) == 30 and all(m.status == MailStatus.PENDING for m in mails)
        assert any("ConnectionRefused" in (m.last_error or "") for m in mails)
        from tests.conftest import Auth

        Auth(client).login("eltern001@example.org")
        page = client.get("/parent/").get_data(as_text=True)
        assert "Platzangebot" in page

        holder = wait_for(lambda: _holder(app), 10, "a lock holder")
        running, waiting = (first, second) if f":{first.pid}:" in holder else (second, first)
        wait_for(lambda: "another scheduler holds the lock" in log_of(waiting), 30, "waiting")

        # the server is back; kill the sending scheduler in the middle of the batch
        sink.start()
        wait_for(lambda: len(sink.received) >= 5, 30, "the first mails")
        os.kill(running.pid, signal.SIGKILL)
        running.wait(timeout=10)
        restarted = procs.scheduler(env)  # one of the two takes over once the lock is stale

        wait_for(
            lambda: all(m.status == MailStatus.SENT for m in _outbox(app)), 60, "all mails sent"
        )
        holder = _holder(app) or ""
        assert any(f":{p.pid}:" in holder for p in (waiting, restarted)), holder
        assert waiting.poll() is None and restarted.poll() is None
    finally:
        sink.stop()

    received = sink.received
    mails = _outbox(app)
    ids = {m.message_id for m in mails}
    counts = Counter(r["message_id"] for r in received)
    assert set(counts) == ids  # none lost, nothing foreign
    twice = [mid for mid, n in counts.items() if n > 1]
    assert len(twice) <= 1  # at most the one mail in flight at the kill
    assert all(n <= 2 for n in counts.values())
    by_content: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in received:
        by_content[(r["to"], r["subject"])].add(r["message_id"])
    assert all(len(v) == 1 for v in by_content.values())  # a repeat keeps its Message-ID
    assert len(by_content) == 30


@pytest.mark.postgres
def test_gunicorn_and_two_schedulers_send_one_reminder_per_parent(
    tmp_path: Path, procs: Procs
) -> None:
    url = postgres_database("procs")
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.create_all()
        from kita.models import Capacity, CareType, Facility, FacilityCareType, Round

        today = utcnow().date()
        round_ = Round(
            name="Kita-Jahr PG",
            care_start_from=today + timedelta(days=60),
            care_start_to=today + timedelta(days=400),
            application_deadline=today + timedelta(days=30),
        )
        fac = Facility(slug="kita", name="Kita Pusteblume", district="Altstadt")
        fac.care_types.append(FacilityCareType(care_type=CareType.KRIPPE))
        round_.capacities.append(Capacity(facility=fac, care_type=CareType.KRIPPE, places=20))
        db.session.add_all([round_, fac])
        db.session.flush()
        due = [family(round_, fac.id, i) for i in range(1, 13)]
        for a in due:
            open_offer(a, fac.id, utcnow() + timedelta(days=2))
        not_due = family(round_, fac.id, 99)
        open_offer(not_due, fac.id, utcnow() + timedelta(days=10))
        db.session.commit()
        parents = sorted(a.child.household.user.email for a in due)
        db.session.remove()

    smtp_port, web_port = free_port(), free_port()
    sink = SmtpSink(smtp_port)
    sink.start()
    env = _env(url, smtp_port)
    try:
        web = procs.start(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-w",
                "3",
                "-b",
                f"127.0.0.1:{web_port}",
                "kita:create_app()",
            ],
            env,
            "gunicorn",
        )
        schedulers = [procs.scheduler(env), procs.scheduler(env)]

        def health() -> dict[str, Any] | None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/healthz", timeout=2) as r:
                    return json.loads(r.read())  # type: ignore[no-any-return]
            except OSError:
                return None

        wait_for(lambda: len(sink.received) >= len(parents), 60, "the reminders")
        body = wait_for(
            lambda: (h := health()) and h["scheduler"]["status"] == "ok" and h, 30, "healthz"
        )
        assert body["database"] == "ok"
        for _ in range(20):  # the three web workers stay quiet: no jobs, no mail
            assert health() is not None
        time.sleep(2)  # several more job runs of the scheduler
        assert web.poll() is None
        logs = [log_of(s) for s in schedulers]
        assert sum("scheduler lock acquired" in text for text in logs) == 1
        assert sum("another scheduler holds the lock" in text for text in logs) == 1
    finally:
        sink.stop()

    reminders = [r for r in sink.received if "Erinnerung" in r["subject"]]
    assert sorted(r["to"] for r in reminders) == parents  # exactly one per parent
    assert len(sink.received) == len(parents)
    with app.app_context():
        rows = db.session.scalars(
            select(OutboxMail).where(OutboxMail.kind == "offer_reminder")
        ).all()
        assert len(rows) == len(parents) and all(r.status == MailStatus.SENT for r in rows)
        db.session.remove()
        db.engine.dispose()
