"""Requirement 8: reset and confirmation links are signed, purpose-bound, single use and
expire (60 minutes for a reset); the owner is told by mail when the password changed."""

from __future__ import annotations

import time
from datetime import timedelta

import time_machine
from flask.testing import FlaskClient
from sqlalchemy import select

from kita.extensions import db
from kita.models import OutboxMail, Role, User
from kita.services import accounts
from tests.conftest import PASSWORD, Auth, last_link, make_user

NEW = "ein ganz neues Passwort"


def _mails(kind: str) -> list[OutboxMail]:
    return list(db.session.scalars(select(OutboxMail).where(OutboxMail.kind == kind)))


def _reset(client: FlaskClient, link: str, password: str = NEW) -> int:
    return client.post(link, data={"password": password, "password2": password}).status_code


def test_req08_reset_link_expires_after_60_minutes(client: FlaskClient) -> None:
    user = make_user(Role.PARENT, email="late@example.org")
    start = time.time()
    with time_machine.travel(start, tick=False) as clock:
        client.post("/reset", data={"email": user.email})
        link = last_link(_mails("reset")[0])
        clock.shift(timedelta(minutes=59))
        assert client.get(link).status_code == 200
        clock.shift(timedelta(minutes=2))
        assert client.get(link).status_code == 400
        assert _reset(client, link) == 400
    assert Auth(client).login(user, PASSWORD).status_code == 302  # unchanged


def test_req08_reset_link_single_use(client: FlaskClient) -> None:
    user = make_user(Role.PARENT, email="once@example.org")
    client.post("/reset", data={"email": user.email})
    client.post("/reset", data={"email": user.email})
    first, second = (last_link(m) for m in _mails("reset"))
    assert _reset(client, first) == 302
    # the same link again, and the other link issued before the change: both used up
    assert _reset(client, first, "zweiter Versuch mit Link") == 400
    assert _reset(client, second, "zweiter Versuch mit Link") == 400
    assert Auth(client.application.test_client()).login(user, NEW).status_code == 302
    assert len(_mails("password_changed")) == 1


def test_req08_links_are_purpose_bound_and_signed(client: FlaskClient) -> None:
    user = make_user(Role.PARENT, email="purpose@example.org")
    confirm = accounts.confirm_token(user)
    reset = accounts.reset_token(user)
    assert client.get(f"/reset/{confirm}").status_code == 400  # a confirmation cannot reset
    assert _reset(client, f"/reset/{confirm}") == 400
    assert client.get(f"/confirm/{reset}").status_code == 400  # a reset cannot confirm
    # tampering with the signed payload or the signature
    payload, stamp, signature = reset.rsplit(".", 2)
    tampered = [
        f"{payload}.{stamp}.{signature[:-2]}xy",
        f"{payload[:-1]}A.{stamp}.{signature}",
        "eyJ1aWQiOjF9.AAAAAA.invalid",
    ]
    for token in tampered:
        assert client.get(f"/reset/{token}").status_code == 400
        assert _reset(client, f"/reset/{token}") == 400
    assert not _mails("password_changed")


def test_req08_token_for_one_user_cannot_reset_another(client: FlaskClient, app) -> None:  # type: ignore[no-untyped-def]
    """Signed with another key (e.g. an attacker's own install), a token is worthless."""
    victim = make_user(Role.PARENT, email="victim@example.org")
    from itsdangerous import URLSafeTimedSerializer

    forged = URLSafeTimedSerializer("attacker-key", salt="kitaplatz-reset").dumps(
        {"uid": victim.id, "pw": "0" * 16}
    )
    assert _reset(client, f"/reset/{forged}") == 400
    assert Auth(client).login(victim).status_code == 302


def test_req08_confirmation_link_expires(
    client: FlaskClient,
) -> None:
    client.post(
        "/register",
        data={"email": "new@example.org", "password": NEW, "password2": NEW, "consent": "y"},
    )
    link = last_link(_mails("confirm")[0])
    with time_machine.travel(time.time() + 3 * 24 * 3600 + 60, tick=False):
        assert client.get(link).status_code == 400
    user = db.session.scalar(select(User))
    assert user is not None and user.confirmed_at is None
    assert client.get(link).status_code == 302
    db.session.refresh(user)
    assert user.confirmed_at is not None


def test_req08_password_changed_mail(client: FlaskClient) -> None:
    user = make_user(Role.PARENT, email="notify@example.org")
    Auth(client).login(user)
    client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": NEW, "new_password2": NEW},
    )
    (mail,) = _mails("password_changed")
    assert mail.to_address == user.email
    assert "Passwort" in mail.subject or "password" in mail.subject.lower()
