"""Requirement 7: every state-changing request needs the session's CSRF token; a form
filled slowly (3 hours in a live session) still submits."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
import time_machine
from flask import Flask
from sqlalchemy import func, select

from kita.extensions import db
from kita.models import AuditEvent, OutboxMail, Role, User
from tests.conftest import PASSWORD, make_user
from tests.security.conftest import csrf_token, login_with_csrf

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture
def csrf_app(make_app: Callable[..., Flask]) -> Flask:
    return make_app(WTF_CSRF_ENABLED=True)


def _changing_routes(app: Flask) -> list[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        for method in (rule.methods or set()) & STATE_CHANGING:
            path = rule.rule
            for arg in rule.arguments:
                path = re.sub(rf"<(?:[^:>]+:)?{arg}>", "1", path)
            routes.add((method, path))
    return sorted(routes)


def _audit_rows() -> int:
    return db.session.scalar(select(func.count(AuditEvent.id))) or 0


@pytest.mark.parametrize("role", [None, Role.PARENT, Role.OFFICE, Role.FACILITY, Role.ADMIN])
def test_req07_every_post_without_token_refused(csrf_app: Flask, municipality, role) -> None:  # type: ignore[no-untyped-def]
    client = csrf_app.test_client()
    if role is not None:
        facility = municipality["facilities"]["regenbogen"] if role == Role.FACILITY else None
        user = make_user(role, facility=facility)
        assert login_with_csrf(client, user.email, PASSWORD).status_code == 302
    routes = _changing_routes(csrf_app)
    assert ("POST", "/logout") in routes and ("POST", "/login") in routes
    before = _audit_rows()
    foreign_token = csrf_token(csrf_app.test_client(), "/login")  # another session's token
    for method, path in routes:
        for data in ({}, {"csrf_token": "forged"}, {"csrf_token": foreign_token}):
            response = client.open(path, method=method, data=data)
            assert response.status_code == 400, (method, path, data, response.status_code)
    assert _audit_rows() == before  # nothing happened
    if role is not None:
        home = client.get("/", follow_redirects=False)
        assert home.status_code == 200 and "csrf_token" in home.get_data(as_text=True)


def test_req07_cross_site_logout_and_password_change_refused(csrf_app: Flask) -> None:
    user = make_user(Role.PARENT, email="victim@example.org")
    client = csrf_app.test_client()
    login_with_csrf(client, user.email, PASSWORD)
    new = "vom Angreifer gesetzt"
    response = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": new, "new_password2": new},
        headers={"Origin": "https://evil.example", "Referer": "https://evil.example/x"},
    )
    assert response.status_code == 400
    assert client.post("/logout").status_code == 400
    assert client.get("/parent/").status_code == 200  # still logged in, nothing changed
    db.session.expire_all()
    assert db.session.get(User, user.id).session_version == user.session_version  # type: ignore[union-attr]


def test_req07_slow_form_still_submits(csrf_app: Flask) -> None:
    """A parent keeps the password form open for 3 hours, then submits it."""
    user = make_user(Role.PARENT, email="slow@example.org")
    client = csrf_app.test_client()
    with time_machine.travel(time.time(), tick=False) as clock:
        assert login_with_csrf(client, user.email, PASSWORD).status_code == 302
        token = csrf_token(client, "/account/password")
        clock.shift(timedelta(hours=3))
        new = "nach drei Stunden fertig"
        response = client.post(
            "/account/password",
            data={
                "current_password": PASSWORD,
                "new_password": new,
                "new_password2": new,
                "csrf_token": token,
            },
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert db.session.scalar(select(OutboxMail.kind)) == "password_changed"


def test_req07_slow_registration_still_submits(csrf_app: Flask) -> None:
    """A form filled slowly before login (no user session yet) submits as well."""
    client = csrf_app.test_client()
    with time_machine.travel(time.time(), tick=False) as clock:
        token = csrf_token(client, "/register")
        clock.shift(timedelta(hours=3))
        password = "Sommer im Großen Garten"
        response = client.post(
            "/register",
            data={
                "email": "slow.new@example.org",
                "password": password,
                "password2": password,
                "consent": "y",
                "csrf_token": token,
            },
        )
    assert response.status_code == 200
    assert db.session.scalar(select(func.count(User.id))) == 1
