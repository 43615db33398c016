"""Failed logins keep the typed e-mail address only as long as the throttle needs it: the
scheduler's job forgets those older than a day."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import select

from kita import jobs
from kita.extensions import db
from kita.models import FailedLogin, utcnow


def test_job_forgets_failed_logins_older_than_a_day(app: Flask) -> None:
    now = utcnow()
    db.session.add_all(
        [
            FailedLogin(email="old@example.org", created_at=now - timedelta(days=2)),
            FailedLogin(email="recent@example.org", created_at=now - timedelta(minutes=5)),
        ]
    )
    db.session.commit()
    job = next(j for j in jobs.JOBS if j.id == "prune_failed_logins")
    assert job.trigger == "cron"
    assert job.func() == 1
    left = db.session.scalars(select(FailedLogin.email)).all()
    assert left == ["recent@example.org"]
    assert job.func() == 0
