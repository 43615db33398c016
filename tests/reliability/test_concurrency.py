"""20 threads × 50 status changes on shared applications: nothing lost, nothing locked."""

from __future__ import annotations

import random
import threading
from collections import Counter
from datetime import date, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from kita.errors import Conflict, InvalidTransition
from kita.extensions import db
from kita.models import (
    Application,
    AuditEvent,
    Capacity,
    CareType,
    Facility,
    FacilityCareType,
    OutboxMail,
    Role,
    Round,
    Status,
    StatusEvent,
    User,
)
from kita.services import accounts
from kita.services.applications import transition
from tests.reliability.helpers import family

THREADS = 20
CHANGES = 50
APPLICATIONS = 10  # fewer applications than threads: they really compete


def _setup() -> tuple[list[int], int]:
    today = date.today()
    round_ = Round(
        name="Kita-Jahr Last",
        care_start_from=today + timedelta(days=60),
        care_start_to=today + timedelta(days=400),
        application_deadline=today + timedelta(days=30),
    )
    fac = Facility(slug="kita", name="Kita Lastprobe", district="Altstadt")
    fac.care_types.append(FacilityCareType(care_type=CareType.KRIPPE))
    round_.capacities.append(Capacity(facility=fac, care_type=CareType.KRIPPE, places=5))
    db.session.add_all([round_, fac])
    db.session.flush()
    apps = [family(round_, fac.id, i, status=Status.IN_REVIEW) for i in range(APPLICATIONS)]
    office = accounts.create_user(
        "amt@example.org", "ein sicheres Passwort", Role.OFFICE, check_password=False
    )
    db.session.commit()
    return [a.id for a in apps], office.id


def _worker(app: Flask, app_ids: list[int], office_id: int, seed: int, out: dict[str, Any]) -> None:
    rng = random.Random(seed)
    done = conflicts = 0
    with app.app_context():
        try:
            office = db.session.get(User, office_id)
            while done < CHANGES:
                application = db.session.get(Application, rng.choice(app_ids))
                assert application is not None and office is not None
                action = "ask_back" if application.status == Status.IN_REVIEW else "answer"
                try:
                    transition(application, action, office, message=f"t{seed} #{done}")
                except (Conflict, InvalidTransition):
                    db.session.rollback()
                    conflicts += 1
                    continue
                done += 1
        except OperationalError as exc:  # "database is locked" would land here
            out.setdefault("errors", []).append(str(exc))
            db.session.rollback()
        except Exception as exc:  # noqa: BLE001 - reported by the test
            out.setdefault("errors", []).append(repr(exc))
            db.session.rollback()
        finally:
            out.setdefault("done", []).append(done)
            out.setdefault("conflicts", []).append(conflicts)
            db.session.remove()


def test_twenty_threads_fifty_changes_each(any_db_app: Flask) -> None:
    app = any_db_app
    app_ids, office_id = _setup()
    db.session.remove()
    out: dict[str, Any] = {}
    threads = [
        threading.Thread(target=_worker, args=(app, app_ids, office_id, n, out))
        for n in range(THREADS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=150)
    assert not any(t.is_alive() for t in threads)
    assert out.get("errors", []) == []
    assert sum(out["done"]) == THREADS * CHANGES

    events = db.session.scalars(
        select(StatusEvent).where(StatusEvent.action.in_(["ask_back", "answer"]))
    ).all()
    assert len(events) == THREADS * CHANGES  # every transition recorded once
    per_app: dict[int, list[StatusEvent]] = {}
    for e in sorted(events, key=lambda e: e.id):
        per_app.setdefault(e.application_id, []).append(e)
    for app_id in app_ids:
        application = db.session.get(Application, app_id)
        assert application is not None
        chain = per_app.get(app_id, [])
        # no lost update: each step starts where the previous one ended
        state = Status.IN_REVIEW
        for e in chain:
            assert e.from_status == state, (app_id, e.id)
            state = e.to_status
        assert application.status == state
        assert application.version == 1 + len(chain)
    audit = Counter(
        db.session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.action.in_(["application.ask_back", "application.answer"])
            )
        ).all()
    )
    kinds = Counter(e.action for e in events)
    assert audit == {f"application.{k}": n for k, n in kinds.items()}
    # "ask back" mails the family, "answer" does not: one mail per ask-back
    mails = db.session.scalar(select(func.count()).select_from(OutboxMail))
    assert mails == kinds["ask_back"]
