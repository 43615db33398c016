"""Fixtures: app (TestConfig), a fresh database per test, client, login helpers.

The database is a temporary SQLite file, or PostgreSQL when ``KITA_TEST_DATABASE_URL``
is set (``make test`` runs the suite against both when a server is available).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from kita import create_app
from kita.extensions import db as _db
from kita.models import (
    Capacity,
    CareType,
    Facility,
    FacilityCareType,
    PriorityRule,
    Role,
    Round,
    User,
)

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "ein sicheres Passwort"  # noqa: S105


@pytest.fixture(scope="session", autouse=True)
def _compiled_translations() -> None:
    """Compile the catalogues once per session (``make`` does the same).

    Every xdist worker runs this while others may already be reading the catalogue, so
    each ``.mo`` is written beside its place and moved in atomically, and only when its
    ``.po`` is newer: a reader sees the old file or the new one, never a half-written one.
    """
    for po in sorted((ROOT / "kita" / "translations").glob("*/LC_MESSAGES/messages.po")):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        tmp = mo.with_name(f".messages.{os.getpid()}.mo")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "babel.messages.frontend",
                "-q",
                "compile",
                "-l",
                po.parent.parent.name,
                "-i",
                str(po),
                "-o",
                str(tmp),
            ],
            check=True,
        )
        os.replace(tmp, mo)


@pytest.fixture(scope="session")
def postgres_url() -> str | None:
    """One PostgreSQL database per xdist worker (created on first use)."""
    base = os.environ.get("KITA_TEST_DATABASE_URL", "")
    if not base.startswith("postgresql"):
        return None
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return base
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(base)
    name = f"{url.database}_{worker}"
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ).scalar()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def database_url(tmp_path: Path, postgres_url: str | None) -> str:
    return postgres_url or f"sqlite:///{tmp_path / 'test.sqlite3'}"


class KitaClient(FlaskClient):
    """Each request runs in its own app context (own ``g`` and DB session), as in production.

    The test's own session is committed first so that it holds no SQLite write lock.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        _db.session.commit()
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": database_url})
    app.test_client_class = KitaClient
    with app.app_context():
        _db.drop_all()
        _db.create_all()
        yield app
        _db.session.remove()
        _db.drop_all()
        _db.engine.dispose()


@pytest.fixture
def db(app: Flask) -> Any:
    return _db


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def sent_mails(app: Flask) -> list[Any]:
    return app.extensions.setdefault("sent_mails", [])


def make_user(role: Role, email: str | None = None, facility: Facility | None = None) -> User:
    from kita.services import accounts

    email = email or f"{role.value}-{_db.session.query(User).count() + 1}@example.org"
    return accounts.create_user(email, PASSWORD, role, facility=facility, check_password=False)


class Auth:
    """Log in and out through the real login form (modelled on flaskr's AuthActions)."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, user_or_email: User | str, password: str = PASSWORD) -> Any:
        email = user_or_email if isinstance(user_or_email, str) else user_or_email.email
        return self.client.post("/login", data={"email": email, "password": password})

    def logout(self) -> Any:
        return self.client.post("/logout")


@pytest.fixture
def auth(client: FlaskClient) -> Auth:
    return Auth(client)


@pytest.fixture
def login_as(client: FlaskClient, app: Flask):  # type: ignore[no-untyped-def]
    """``login_as(role)`` creates a user of that role, logs it in and returns it."""

    def _login(role: Role, facility: Facility | None = None, email: str | None = None) -> User:
        user = make_user(role, email=email, facility=facility)
        response = Auth(client).login(user)
        assert response.status_code == 302, response.data[:500]
        return user

    return _login


@pytest.fixture
def municipality(app: Flask) -> dict[str, Any]:
    """A small municipality: an open round, 4 facilities, the rule table."""
    today = date.today()
    round_ = Round(
        name="Kita-Jahr Test",
        care_start_from=today + timedelta(days=60),
        care_start_to=today + timedelta(days=400),
        application_deadline=today + timedelta(days=30),
        offer_response_days=14,
    )
    _db.session.add(round_)
    specs = [
        ("sonnenschein", "Kita Sonnenschein", "Altstadt", [CareType.KRIPPE, CareType.KINDERGARTEN]),
        ("regenbogen", "Kita Regenbogen", "Altstadt", [CareType.KRIPPE]),
        ("pusteblume", "Kita Pusteblume", "Nordstadt", [CareType.KRIPPE, CareType.KINDERGARTEN]),
        ("schlosspark", "Hort am Schlosspark", "Nordstadt", [CareType.HORT]),
    ]
    facilities = {}
    for slug, name, district, types in specs:
        fac = Facility(slug=slug, name=name, district=district, operator="Stadt", street="Weg 1")
        for ct in types:
            fac.care_types.append(FacilityCareType(care_type=ct, min_hours=20, max_hours=45))
            round_.capacities.append(Capacity(facility=fac, care_type=ct, places=2))
        _db.session.add(fac)
        facilities[slug] = fac
    rules = {
        "sibling": PriorityRule(
            code="sibling",
            label_de="Geschwisterkind in der Einrichtung",
            label_en="Sibling at the facility",
            points=300,
            facility_specific=True,
        ),
        "working": PriorityRule(
            code="working",
            label_de="Beide Eltern berufstätig",
            label_en="Both parents in work",
            points=200,
            proof_required=True,
        ),
        "hardship": PriorityRule(
            code="hardship",
            label_de="Soziale Härte",
            label_en="Social hardship",
            points=400,
            proof_required=True,
        ),
    }
    _db.session.add_all(rules.values())
    _db.session.commit()
    return {"round": round_, "facilities": facilities, "rules": rules}


def last_link(mail: Any) -> str:
    """The path of the last link in a mail (an EmailMessage or an OutboxMail)."""
    body = mail.body if hasattr(mail, "body") else mail.get_content()
    links = re.findall(r"https?://[^\s]+", body)
    assert links, body
    return re.sub(r"^https?://[^/]+", "", links[-1])


@contextmanager
def statements_run() -> Iterator[list[str]]:
    """Every SQL statement the database engine runs inside the block, in order."""
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(_db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(_db.engine, "before_cursor_execute", record)
