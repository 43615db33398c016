"""Fixtures of the reliability tests: an app on SQLite or on PostgreSQL by choice."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from kita import create_app
from kita.extensions import db


def postgres_database(suffix: str) -> str:
    """A fresh database of its own on the server of ``KITA_TEST_POSTGRES_URL``.

    Without that variable the test fails under CI (where it is always set) and is
    skipped elsewhere (run it with ``bash .ci/with-services …``).
    """
    base = os.environ.get("KITA_TEST_POSTGRES_URL") or os.environ.get("KITA_TEST_DATABASE_URL", "")
    if not base.startswith("postgresql"):
        if os.environ.get("CI"):
            pytest.fail("CI needs PostgreSQL: KITA_TEST_POSTGRES_URL is not set")
        pytest.skip("no PostgreSQL: run with `bash .ci/with-services …`")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(base)
    name = f"{url.database}_rel_{suffix}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_db_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    """The app on a SQLite file and (second run) on PostgreSQL, with a pool for 20 threads."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'rel.sqlite3'}"
        options: dict = {}
    else:
        url = postgres_database("conc")
        options = {"pool_size": 25, "max_overflow": 5, "pool_pre_ping": True}
    app = create_app(
        {
            "ENV_NAME": "testing",
            "SQLALCHEMY_DATABASE_URI": url,
            "SQLALCHEMY_ENGINE_OPTIONS": options,
        }
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
        yield app
        db.session.remove()
        db.drop_all()
        db.engine.dispose()
