"""The one state machine: every action × station × actor kind, allowed or refused.

One app and database serve the whole module (1,400 cases); each case gets its own
child and application, and checks only that application's rows.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from kita import create_app
from kita.errors import InvalidTransition, NotAllowed, ValidationFailed
from kita.extensions import db
from kita.models import (
    Application,
    AuditEvent,
    CareType,
    Child,
    Facility,
    FacilityCareType,
    Household,
    OutboxMail,
    Role,
    Round,
    Status,
    StatusEvent,
    User,
)
from kita.services.applications import (
    ADMIN,
    FACILITY,
    OFFICE,
    PARENT,
    SYSTEM,
    TRANSITIONS,
    transition,
)

KINDS = (PARENT, OFFICE, FACILITY, ADMIN, SYSTEM)
CASES = list(itertools.product(sorted(TRANSITIONS), list(Status), KINDS))


@pytest.fixture(scope="module")
def sm_app(tmp_path_factory: pytest.TempPathFactory, postgres_url: str | None) -> Iterator[Flask]:
    url = postgres_url or f"sqlite:///{tmp_path_factory.mktemp('sm') / 'sm.sqlite3'}"
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.drop_all()
        db.create_all()
        today = date.today()
        round_ = Round(
            name="SM",
            care_start_from=today + timedelta(days=30),
            care_start_to=today + timedelta(days=300),
            application_deadline=today + timedelta(days=10),
        )
        fac = Facility(slug="sm", name="Kita SM", district="Mitte")
        fac.care_types.append(FacilityCareType(care_type=CareType.KRIPPE))
        parent = User(email="p@example.org", password_hash="x", role=Role.PARENT)
        db.session.add_all([round_, fac, parent])
        db.session.flush()
        staff = {
            OFFICE: User(email="o@example.org", password_hash="x", role=Role.OFFICE),
            FACILITY: User(
                email="f@example.org", password_hash="x", role=Role.FACILITY, facility_id=fac.id
            ),
            ADMIN: User(email="a@example.org", password_hash="x", role=Role.ADMIN),
        }
        db.session.add_all(staff.values())
        db.session.add(Household(user_id=parent.id, locale="de"))
        db.session.flush()
        ids = {
            "round": round_.id,
            "facility": fac.id,
            PARENT: parent.id,
            **{k: u.id for k, u in staff.items()},
        }
        db.session.commit()
        db.session.remove()
        app.config["SM_IDS"] = ids
        yield app
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


@pytest.fixture
def ctx(sm_app: Flask) -> Iterator[dict[str, Any]]:
    with sm_app.app_context():
        yield sm_app.config["SM_IDS"]
        db.session.remove()


_counter = itertools.count(1)


def _application(ids: dict[str, Any], status: Status) -> Application:
    n = next(_counter)
    parent = db.session.get(User, ids[PARENT])
    assert parent is not None and parent.household is not None
    child = Child(
        household_id=parent.household.id,
        first_name=f"Kind{n}",
        last_name="Geheimnachname",
        birth_date=date.today() - timedelta(days=400),
    )
    db.session.add(child)
    db.session.flush()
    application = Application(
        reference=f"KV-SM-{n:05d}",
        child_id=child.id,
        round_id=ids["round"],
        status=status,
        care_type=CareType.KRIPPE,
        start_date=date.today() + timedelta(days=40),
        weekly_hours=30,
    )
    db.session.add(application)
    db.session.commit()
    return application


def _actor(ids: dict[str, Any], kind: str) -> User | None:
    return None if kind == SYSTEM else db.session.get(User, ids[kind])


def _rows(application_id: int) -> tuple[int, int, int]:
    events = db.session.scalar(
        select(func.count()).where(StatusEvent.application_id == application_id)
    )
    audits = db.session.scalar(
        select(func.count()).where(
            AuditEvent.object_type == "application",
            AuditEvent.object_id == str(application_id),
        )
    )
    mails = db.session.scalar(
        select(func.count()).where(OutboxMail.application_id == application_id)
    )
    return int(events or 0), int(audits or 0), int(mails or 0)


@pytest.mark.parametrize(("action", "station", "kind"), CASES)
def test_transition(ctx: dict[str, Any], action: str, station: Status, kind: str) -> None:
    t = TRANSITIONS[action]
    application = _application(ctx, station)
    app_id = application.id
    actor = _actor(ctx, kind)
    allowed = station in t.sources and kind in t.actors
    if not allowed:
        expected = NotAllowed if kind not in t.actors else InvalidTransition
        with pytest.raises(expected):
            transition(application, action, actor, message="Nachricht an die Familie")
        db.session.rollback()
        db.session.expire_all()
        assert db.session.get(Application, app_id).status == station
        assert _rows(app_id) == (0, 0, 0)
        return
    transition(application, action, actor, message="Nachricht an die Familie")
    db.session.expire_all()
    stored = db.session.get(Application, app_id)
    assert stored is not None and stored.status == t.target
    assert stored.version == 2
    event = db.session.scalar(select(StatusEvent).where(StatusEvent.application_id == app_id))
    assert event is not None
    assert (event.action, event.from_status, event.to_status) == (action, station, t.target)
    assert event.actor_id == (actor.id if actor is not None else None)
    assert event.message == "Nachricht an die Familie"
    audit = db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.object_type == "application", AuditEvent.object_id == str(app_id)
        )
    )
    assert audit is not None and audit.action == f"application.{action}"
    assert audit.actor_role == (str(actor.role) if actor is not None else "system")
    mails = db.session.scalars(select(OutboxMail).where(OutboxMail.application_id == app_id)).all()
    if t.notify:
        assert len(mails) == 1
        mail = mails[0]
        assert mail.to_address == "p@example.org"
        assert stored.reference in mail.body and f"/parent/applications/{app_id}" in mail.body
        assert "Geheimnachname" not in mail.body + mail.subject
    else:
        assert mails == []


@pytest.mark.parametrize("action", sorted(a for a, t in TRANSITIONS.items() if t.needs_message))
def test_message_required(ctx: dict[str, Any], action: str) -> None:
    t = TRANSITIONS[action]
    station = sorted(t.sources)[0]
    kind = sorted(t.actors)[0]
    application = _application(ctx, station)
    with pytest.raises(ValidationFailed) as err:
        transition(application, action, _actor(ctx, kind), message="   ")
    assert "message" in err.value.errors
    db.session.rollback()
    assert _rows(application.id) == (0, 0, 0)


def test_stale_copy_loses(ctx: dict[str, Any]) -> None:
    """Two clicks on the same station: the second (stale) one is refused, one event only."""
    from kita.errors import Conflict

    application = _application(ctx, Status.SUBMITTED)
    office = _actor(ctx, OFFICE)
    transition(application, "start_review", office)
    with pytest.raises((InvalidTransition, Conflict)):
        transition(application, "start_review", office, expected=Status.SUBMITTED)
    db.session.rollback()
    assert _rows(application.id)[0] == 1
