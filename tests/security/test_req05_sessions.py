"""Requirement 5: logout ends the session server-side, staff sessions time out when idle,
cookies are Secure (outside development), HttpOnly and SameSite=Lax."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

from kita import create_app
from kita.config import DEV_SECRET_KEY
from kita.models import Role
from tests.conftest import PASSWORD, Auth, make_user
from tests.security.conftest import CSRF_RE

REAL_KEY = "9f2c0b6e1d4a7f3e8b5c2a9d6e3f0a7b4c1d8e5f2a9b6c3d"


def test_req05_replayed_cookie_after_logout_refused(client: FlaskClient) -> None:
    user = make_user(Role.OFFICE, email="office@example.org")
    assert Auth(client).login(user).status_code == 302
    stolen = client.get_cookie("session")
    assert stolen is not None and client.get("/office/").status_code == 200
    assert client.post("/logout").status_code == 302
    attacker = client.application.test_client()
    attacker.set_cookie("session", stolen.value)
    response = attacker.get("/office/")
    assert response.status_code == 302 and "/login" in response.location


def test_req05_forged_session_cookie_refused(client: FlaskClient, app: Flask) -> None:
    """A cookie signed with another key (e.g. the public development key) is ignored."""
    user = make_user(Role.OFFICE, email="office@example.org")
    from flask.sessions import SecureCookieSessionInterface

    interface = SecureCookieSessionInterface()
    for key in (DEV_SECRET_KEY, "guessed"):
        forged = URLSafeTimedSerializer(
            key,
            salt=interface.salt,
            serializer=interface.serializer,
            signer_kwargs={"key_derivation": "hmac", "digest_method": interface.digest_method},
        ).dumps({"_user_id": user.get_id(), "_fresh": True})
        attacker = app.test_client()
        attacker.set_cookie("session", forged)
        assert attacker.get("/office/").status_code == 302


@pytest.mark.parametrize("role", [Role.OFFICE, Role.FACILITY, Role.ADMIN])
def test_req05_staff_idle_timeout(app: Flask, municipality, role: Role) -> None:  # type: ignore[no-untyped-def]
    facility = municipality["facilities"]["regenbogen"] if role == Role.FACILITY else None
    user = make_user(role, facility=facility)
    client = app.test_client()
    home = {Role.OFFICE: "/office/", Role.FACILITY: "/facility/", Role.ADMIN: "/admin/"}[role]
    start = time.time()
    with time_machine.travel(start, tick=False) as clock:
        assert Auth(client).login(user).status_code == 302
        assert client.get(home).status_code == 200
        clock.shift(timedelta(minutes=29))
        assert client.get(home).status_code == 200  # activity keeps the session alive
        clock.shift(timedelta(minutes=29))
        assert client.get(home).status_code == 200
        clock.shift(timedelta(minutes=31))
        response = client.get(home)
        assert response.status_code == 302 and "/login" in response.location
        clock.shift(timedelta(seconds=1))
        assert client.get(home).status_code == 302  # the session stays ended


def test_req05_parent_session_survives_a_long_pause(client: FlaskClient) -> None:
    user = make_user(Role.PARENT, email="slow@example.org")
    with time_machine.travel(time.time(), tick=False) as clock:
        assert Auth(client).login(user).status_code == 302
        clock.shift(timedelta(hours=3))
        assert client.get("/parent/").status_code == 200


def test_req05_production_cookie_flags(make_app: Callable[..., Flask]) -> None:
    prod = make_app(ENV_NAME="production", SECRET_KEY=REAL_KEY, MAIL_BACKEND="memory")
    make_user(Role.PARENT, email="cookie@example.org")
    client = prod.test_client()
    page = client.get("/login", base_url="https://localhost").get_data(as_text=True)
    token = CSRF_RE.search(page).group(1)  # type: ignore[union-attr]
    response = client.post(
        "/login",
        data={"email": "cookie@example.org", "password": PASSWORD, "csrf_token": token},
        base_url="https://localhost",
        headers={"Referer": "https://localhost/login"},
    )
    assert response.status_code == 302
    cookies = response.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("session="))
    flags = {part.strip().lower() for part in session_cookie.split(";")}
    assert "secure" in flags and "httponly" in flags and "samesite=lax" in flags
    response = client.get("/parent/", base_url="https://localhost")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "max-age=31536000" in response.headers["Strict-Transport-Security"]


def test_req05_development_cookie_flags(client: FlaskClient) -> None:
    make_user(Role.PARENT, email="dev@example.org")
    response = Auth(client).login("dev@example.org")
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert "httponly" in flags and "samesite=lax" in flags


@pytest.mark.parametrize("key", [None, "", DEV_SECRET_KEY, "too-short-key"])
def test_req05_production_refuses_a_weak_secret_key(database_url: str, key: str | None) -> None:
    """Sessions are signed cookies: a known or short key would let anyone forge one."""
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(
            {"ENV_NAME": "production", "SECRET_KEY": key, "SQLALCHEMY_DATABASE_URI": database_url}
        )
