"""Migrations: one head, upgrade of an empty database, no drift, downgrade to base."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

ROOT = Path(__file__).resolve().parent.parent


def test_single_head() -> None:
    config = Config(str(ROOT / "migrations" / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, heads


def flask_db(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KITA_SQLALCHEMY_DATABASE_URI": url, "KITA_ENV": "testing"}
    env.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "kita", "db", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _own_database(url: str) -> str:
    """A database of its own, so that the suite's tables never count as drift."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = f"{parsed.database}_migrations_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    engine = create_engine(parsed, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


def _urls(tmp_path: Path) -> list[str]:
    urls = [f"sqlite:///{tmp_path / 'migrate.sqlite3'}"]
    pg = os.environ.get("KITA_TEST_POSTGRES_URL") or os.environ.get("KITA_TEST_DATABASE_URL", "")
    if pg.startswith("postgresql"):
        urls.append(_own_database(pg))
    return urls


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_upgrade_check_downgrade(tmp_path: Path, kind: str) -> None:
    urls = [u for u in _urls(tmp_path) if u.startswith(kind)]
    if not urls:
        if os.environ.get("CI"):
            pytest.fail("KITA_TEST_DATABASE_URL must point at PostgreSQL here")
        pytest.skip("no PostgreSQL configured (KITA_TEST_DATABASE_URL); CI runs it")
    url = urls[0]
    for args in (("upgrade",), ("check",), ("downgrade", "base"), ("upgrade",)):
        result = flask_db(url, *args)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
    assert (
        "No new upgrade operations detected"
        in flask_db(url, "check").stdout + flask_db(url, "check").stderr
    )
