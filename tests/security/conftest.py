"""Helpers for the security tests: app variants on the test database, CSRF-aware clients."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from kita import create_app
from kita.extensions import db as _db
from tests.conftest import KitaClient

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture
def make_app(app: Flask, database_url: str) -> Iterator[Callable[..., Flask]]:
    """Another app instance on the same (already created) test database."""
    made: list[Flask] = []

    def _make(**overrides: Any) -> Flask:
        config = {"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": database_url, **overrides}
        other = create_app(config)
        other.test_client_class = KitaClient
        made.append(other)
        return other

    yield _make
    for other in made:
        with other.app_context():
            _db.engine.dispose()


def csrf_token(client: FlaskClient, path: str) -> str:
    """The CSRF token of the form on ``path`` (the client's session gets one)."""
    response = client.get(path)
    match = CSRF_RE.search(response.get_data(as_text=True))
    assert match, (path, response.status_code, response.get_data(as_text=True)[:300])
    return match.group(1)


def login_with_csrf(client: FlaskClient, email: str, password: str) -> Any:
    token = csrf_token(client, "/login")
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})
