"""Requirement 4: argon2id; 10 to 128 characters, umlauts and spaces allowed, no
composition rules, common passwords refused (zxcvbn's list); a password change or reset
ends every other session."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from kita.extensions import db
from kita.models import OutboxMail, Role, User
from kita.services import accounts
from tests.conftest import PASSWORD, Auth, last_link, make_user


def _register(client: FlaskClient, password: str) -> int:
    response = client.post(
        "/register",
        data={
            "email": "new.parent@example.org",
            "password": password,
            "password2": password,
            "consent": "y",
        },
    )
    return response.status_code


def _accounts() -> int:
    return db.session.scalar(select(func.count(User.id))) or 0


@pytest.mark.parametrize(
    "password",
    [
        "123456789",  # 9 characters
        "kurz",
        "x" * 129,  # over 128
        "1234567890",  # common (zxcvbn's list)
        "qwertyuiop",
        "password123",
        "Password123",  # case does not save a common password
        "aaaaaaaaaaaa",  # one character repeated
    ],
)
def test_req04_weak_passwords_refused(client: FlaskClient, password: str) -> None:
    assert _register(client, password) == 422
    assert _accounts() == 0


@pytest.mark.parametrize(
    "password",
    [
        "kinder garten sonne",  # lower case and spaces only: no composition rules
        "Grüße aus Köln am Rhein",  # umlauts and ß
        "zehnzeichn",  # exactly 10
        ("Grüße aus dem Kindergarten " * 5)[:128],  # exactly 128
    ],
)
def test_req04_long_passphrases_accepted_and_stored_as_argon2id(
    client: FlaskClient, password: str
) -> None:
    assert _register(client, password) == 200
    user = db.session.scalar(select(User))
    assert user is not None
    assert user.password_hash.startswith("$argon2id$")
    assert password not in user.password_hash
    assert accounts.verify_password(user, password)
    assert not accounts.verify_password(user, password + "x")


def test_req04_production_hash_parameters_are_owasp_argon2id(make_app) -> None:  # type: ignore[no-untyped-def]
    """Outside the tests no cheap parameters are configured: argon2id with OWASP's
    recommended minimum (19 MiB memory, 2 passes, 1 lane)."""
    prod = make_app(ENV_NAME="production", SECRET_KEY="s" * 48)
    with prod.app_context():
        hashed = accounts.hash_password("ein sicheres Passwort")
    assert hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_req04_password_change_ends_other_sessions(app: Flask, client: FlaskClient) -> None:
    user = make_user(Role.PARENT, email="change@example.org")
    thief = app.test_client()
    assert Auth(thief).login(user).status_code == 302
    assert Auth(client).login(user).status_code == 302
    new = "ganz neues Passwort 2"
    response = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": new, "new_password2": new},
    )
    assert response.status_code == 302
    assert client.get("/parent/").status_code == 200  # this session continues
    response = thief.get("/parent/")
    assert response.status_code == 302 and "/login" in response.location  # the other ends
    assert [m.kind for m in db.session.scalars(select(OutboxMail))] == ["password_changed"]


def test_req04_password_change_needs_the_current_password(client: FlaskClient) -> None:
    user = make_user(Role.PARENT, email="hijack@example.org")
    Auth(client).login(user)
    new = "vom Angreifer gesetzt"
    response = client.post(
        "/account/password",
        data={"current_password": "geraten geraten", "new_password": new, "new_password2": new},
    )
    assert response.status_code == 422
    assert Auth(client.application.test_client()).login(user).status_code == 302  # old works


def test_req04_reset_ends_other_sessions(app: Flask, client: FlaskClient) -> None:
    user = make_user(Role.PARENT, email="reset@example.org")
    thief = app.test_client()
    assert Auth(thief).login(user).status_code == 302
    client.post("/reset", data={"email": user.email})
    mail = db.session.scalar(select(OutboxMail).where(OutboxMail.kind == "reset"))
    new = "nach dem Zurücksetzen"
    response = client.post(last_link(mail), data={"password": new, "password2": new})
    assert response.status_code == 302
    assert thief.get("/parent/").status_code == 302
