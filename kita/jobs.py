"""The scheduler process: the job table and ``flask --app kita scheduler``.

Exactly one scheduler process runs per deployment. It is never started inside the web
app (under gunicorn every worker would run every job). A second process started by
mistake waits for the scheduler lock instead of running jobs twice:

* PostgreSQL: a session-level advisory lock held on a dedicated connection for the
  life of the process (released by the server when the process dies);
* SQLite: the row ``scheduler`` of ``scheduler_lock`` (holder + heartbeat); a holder
  whose heartbeat is older than ``SCHEDULER_STALE_SECONDS`` is taken over.

Both write the heartbeat into that row, which ``/healthz`` reports. Every job is
idempotent and calls a service; the services guard themselves with conditional
updates, so even an overlap during a take-over sends nothing twice.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import or_, text, update
from sqlalchemy.exc import IntegrityError

from kita.extensions import db
from kita.models import SchedulerLock, utcnow

log = logging.getLogger("kita.jobs")

LOCK_NAME = "scheduler"
#: the advisory lock key (any constant bigint; "KITA" in ASCII)
PG_LOCK_KEY = 0x4B495441


# --- the jobs: each one a thin call into a service ---------------------------------------


def send_outbox() -> dict[str, int]:
    """Deliver the outbox in batches until it is empty (or a minute has passed)."""
    from kita.services import notifications

    total = {"sent": 0, "failed": 0, "dead": 0}
    batch = int(current_app.config.get("MAIL_BATCH_SIZE", 50))
    deadline = time.monotonic() + 60
    while True:
        counts = notifications.send_pending(batch)
        for key, value in counts.items():
            total[key] = total.get(key, 0) + value
        if sum(counts.values()) < batch or time.monotonic() > deadline:
            return total


def expire_offers() -> int:
    from kita.services import offers

    return int(offers.expire_due(utcnow()))


def draw_lotteries() -> int:
    from kita.services.rules import draw_due_lotteries

    return draw_due_lotteries()


def flag_overdue_enrollments() -> int:
    from kita.services.enrollments import flag_overdue

    return flag_overdue()


def fail_stale_runs() -> int:
    from kita.services.allocation_runs import fail_stale_runs

    return fail_stale_runs()


def offer_reminders() -> int:
    from kita.services.reminders import send_offer_reminders

    return send_offer_reminders(utcnow())


def reconfirmation() -> dict[str, int]:
    from kita.services.reminders import run_reconfirmation

    return run_reconfirmation(utcnow())


def retention() -> dict[str, int]:
    from kita.services.retention import run

    return run(utcnow())


def prune_failed_logins() -> int:
    """Failed logins (the e-mail address typed) are kept only for the throttle window."""
    from kita.services.accounts import prune_failed_logins as prune

    return prune()


@dataclass(frozen=True)
class Job:
    id: str
    func: Callable[[], Any]
    trigger: str  # "interval" or "cron" (APScheduler trigger names)
    schedule: dict[str, Any] = field(default_factory=dict)
    description: str = ""


#: The job table. ``JOB_INTERVALS`` (``KITA_JOB_INTERVALS='{"send_outbox": 5}'``) overrides
#: a job's schedule with an interval in seconds.
JOBS: tuple[Job, ...] = (
    Job("send_outbox", send_outbox, "interval", {"seconds": 30}, "deliver the outbox"),
    Job("expire_offers", expire_offers, "interval", {"minutes": 5}, "expire offers"),
    Job("offer_reminders", offer_reminders, "interval", {"minutes": 15}, "offer reminders"),
    Job("reconfirmation", reconfirmation, "interval", {"hours": 1}, "waiting-list check"),
    Job("retention", retention, "cron", {"hour": 3, "minute": 17}, "delete old data"),
    Job(
        "prune_failed_logins",
        prune_failed_logins,
        "cron",
        {"hour": 3, "minute": 47},
        "forget failed logins",
    ),
    Job("draw_lotteries", draw_lotteries, "interval", {"minutes": 30}, "draw due lotteries"),
    Job("fail_stale_runs", fail_stale_runs, "interval", {"minutes": 2}, "interrupted runs"),
    Job(
        "flag_overdue_enrollments",
        flag_overdue_enrollments,
        "cron",
        {"hour": 6, "minute": 5},
        "accepted places without enrollment",
    ),
)


def run_job(app: Flask, job: Job) -> Any:
    """Run one job in its own app context (own DB session); log, never raise."""
    started = time.perf_counter()
    with app.app_context():
        try:
            result = job.func()
        except Exception:
            log.exception("job %s failed", job.id, extra={"event": "job.failed", "job": job.id})
            db.session.rollback()
            return None
        finally:
            db.session.remove()
    log.info(
        "job %s done",
        job.id,
        extra={
            "event": "job.done",
            "job": job.id,
            "result": result,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )
    return result


# --- the lock ---------------------------------------------------------------------------


class SchedulerLease:
    """The one-scheduler lock and its heartbeat (see the module docstring)."""

    def __init__(self, app: Flask, holder: str | None = None) -> None:
        self.app = app
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.stale = timedelta(seconds=float(app.config.get("SCHEDULER_STALE_SECONDS", 90)))
        self._pg_conn: Any = None
        with app.app_context():
            self.dialect = db.engine.dialect.name

    def try_acquire(self) -> bool:
        with self.app.app_context():
            if self.dialect == "postgresql":
                if self._pg_conn is None:
                    conn = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
                    got = conn.execute(
                        text("SELECT pg_try_advisory_lock(:k)"), {"k": PG_LOCK_KEY}
                    ).scalar()
                    if not got:
                        conn.close()
                        return False
                    self._pg_conn = conn
                self._write_row(force=True)
                return True
            return self._write_row(force=False)

    def acquire(self, poll: float = 2.0, stop: Callable[[], bool] = lambda: False) -> bool:
        """Wait until the lock is ours (False when ``stop()`` says to give up)."""
        announced = False
        while not stop():
            if self.try_acquire():
                log.info(
                    "scheduler lock acquired",
                    extra={"event": "scheduler.lock", "holder": self.holder},
                )
                return True
            if not announced:
                log.info(
                    "another scheduler holds the lock; waiting",
                    extra={"event": "scheduler.waiting", "holder": self.holder},
                )
                announced = True
            time.sleep(poll)
        return False

    def _write_row(self, *, force: bool) -> bool:
        """Claim the lock row (SQLite) or just stamp it (PostgreSQL, lock already held)."""
        now = utcnow()
        cond = SchedulerLock.name == LOCK_NAME
        if not force:
            cond = cond & or_(
                SchedulerLock.holder.is_(None),
                SchedulerLock.holder == self.holder,
                SchedulerLock.heartbeat_at.is_(None),
                SchedulerLock.heartbeat_at < now - self.stale,
            )
        try:
            changed = db.session.execute(
                update(SchedulerLock)
                .where(cond)
                .values(holder=self.holder, heartbeat_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]
            if changed:
                db.session.commit()
                return True
            if db.session.get(SchedulerLock, LOCK_NAME) is not None:
                db.session.rollback()
                return False
            db.session.add(SchedulerLock(name=LOCK_NAME, holder=self.holder, heartbeat_at=now))
            db.session.commit()
            return True
        except IntegrityError:
            db.session.rollback()
            return False
        finally:
            db.session.remove()

    def heartbeat(self) -> bool:
        """Stamp the heartbeat; False when the lock was lost (the process must stop)."""
        with self.app.app_context():
            try:
                if self.dialect == "postgresql":
                    self._pg_conn.execute(text("SELECT 1"))
                changed = db.session.execute(
                    update(SchedulerLock)
                    .where(SchedulerLock.name == LOCK_NAME, SchedulerLock.holder == self.holder)
                    .values(heartbeat_at=utcnow())
                    .execution_options(synchronize_session=False)
                ).rowcount  # type: ignore[attr-defined]
                db.session.commit()
            except Exception:
                log.exception("scheduler heartbeat failed")
                db.session.rollback()
                return False
            finally:
                db.session.remove()
        if not changed and self.dialect == "postgresql":
            # someone cleared the row; we still hold the advisory lock
            with self.app.app_context():
                self._write_row(force=True)
            return True
        return bool(changed)

    def release(self) -> None:
        with self.app.app_context():
            try:
                db.session.execute(
                    update(SchedulerLock)
                    .where(SchedulerLock.name == LOCK_NAME, SchedulerLock.holder == self.holder)
                    .values(holder=None)
                    .execution_options(synchronize_session=False)
                )
                db.session.commit()
            except Exception:  # noqa: BLE001 - the lock runs stale anyway
                log.exception("could not release the scheduler lock row")
                db.session.rollback()
            finally:
                db.session.remove()
        if self._pg_conn is not None:
            try:
                self._pg_conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": PG_LOCK_KEY})
                self._pg_conn.close()
            except Exception:  # noqa: BLE001 - closing the connection frees the lock too
                log.warning("advisory unlock failed; the lock ends with the connection")
            self._pg_conn = None


# --- the process ---------------------------------------------------------------------------


def _schedule(app: Flask, job: Job) -> tuple[str, dict[str, Any]]:
    overrides = app.config.get("JOB_INTERVALS") or {}
    if job.id in overrides:
        return "interval", {"seconds": float(overrides[job.id])}
    return job.trigger, dict(job.schedule)


def run_scheduler(app: Flask, *, once: bool = False) -> int:
    """Wait for the lock, then run the job table until SIGTERM/SIGINT (exit code)."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    stopping = {"flag": False, "lost": False}
    scheduler = BlockingScheduler(timezone="UTC")

    def _stop(signum: int, frame: Any) -> None:
        log.info("scheduler stopping (signal %s)", signum, extra={"event": "scheduler.stop"})
        stopping["flag"] = True
        if scheduler.running:
            scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)

    lease = SchedulerLease(app)
    if not lease.acquire(stop=lambda: stopping["flag"]):
        return 0
    try:
        if once:
            for job in JOBS:
                run_job(app, job)
            return 0
        heartbeat_seconds = float(app.config.get("SCHEDULER_HEARTBEAT_SECONDS", 15))

        def _heartbeat() -> None:
            if not lease.heartbeat():
                log.error("scheduler lock lost; stopping", extra={"event": "scheduler.lost"})
                stopping["lost"] = True
                scheduler.shutdown(wait=False)

        scheduler.add_job(
            _heartbeat, "interval", seconds=heartbeat_seconds, id="heartbeat", max_instances=1
        )
        now = utcnow()
        for job in JOBS:
            trigger, schedule = _schedule(app, job)
            scheduler.add_job(
                run_job,
                trigger,
                args=(app, job),
                id=job.id,
                name=job.description or job.id,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
                next_run_time=now if trigger == "interval" else None,
                **schedule,
            )
        log.info(
            "scheduler running", extra={"event": "scheduler.start", "jobs": [j.id for j in JOBS]}
        )
        scheduler.start()
    finally:
        if not stopping["lost"]:
            lease.release()
    return 3 if stopping["lost"] else 0


@click.command("scheduler")
@with_appcontext
@click.option("--once", is_flag=True, help="Run every job once (with the lock) and exit.")
def scheduler_command(once: bool) -> None:
    """Run the background jobs (outbox, expiry, reminders, retention): one process only."""
    from kita.logging import configure

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    configure(
        str(app.config.get("LOG_FORMAT", "json")).lower(),
        str(app.config.get("LOG_LEVEL", "INFO")).upper(),
    )
    raise SystemExit(run_scheduler(app, once=once))
