"""Accounts: registration, confirmation, login, logout, reset; bad input loses nothing."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from kita.extensions import db
from kita.models import OutboxMail, Role, User
from tests.conftest import PASSWORD, Auth, last_link, make_user

GOOD = {
    "email": "Anna.Mueller@Example.org",
    "password": "Sommer im Großen Garten",
    "password2": "Sommer im Großen Garten",
    "consent": "y",
}


def users() -> int:
    return db.session.scalar(select(func.count(User.id))) or 0


def outbox() -> list[OutboxMail]:
    return list(db.session.scalars(select(OutboxMail).order_by(OutboxMail.id)).all())


def test_register_confirm_login_logout(client: FlaskClient, app: Flask) -> None:
    response = client.post("/register", data=GOOD)
    assert response.status_code == 200
    assert "Bitte prüfen Sie Ihr E-Mail-Postfach" in response.get_data(as_text=True)
    user = db.session.scalar(select(User))
    assert user is not None and user.email == "anna.mueller@example.org"
    assert user.role == Role.PARENT and user.confirmed_at is None
    assert user.password_hash.startswith("$argon2id$")

    # not confirmed yet: login refused with the generic message
    response = client.post("/login", data={"email": GOOD["email"], "password": GOOD["password"]})
    assert response.status_code == 401

    (mail,) = outbox()
    assert mail.kind == "confirm" and mail.to_address == "anna.mueller@example.org"
    response = client.get(last_link(mail))
    assert response.status_code == 302
    response = client.post("/login", data={"email": GOOD["email"], "password": GOOD["password"]})
    assert response.status_code == 302 and response.location.endswith("/parent/")
    assert client.get("/parent/").status_code == 200

    cookie = client.get_cookie("session")
    assert cookie is not None
    response = client.post("/logout")
    assert response.status_code == 302
    assert client.get("/parent/").status_code == 302  # back to the login page

    # the old session cookie replayed after logout no longer works
    client.set_cookie("session", cookie.value)
    response = client.get("/parent/")
    assert response.status_code == 302 and "/login" in response.location


def test_logout_is_post_only(client: FlaskClient, login_as) -> None:  # type: ignore[no-untyped-def]
    login_as(Role.PARENT)
    assert client.get("/logout").status_code == 405
    assert client.get("/parent/").status_code == 200


def test_existing_address_same_page_no_account_and_notice(client: FlaskClient) -> None:
    owner = make_user(Role.PARENT, email="anna.mueller@example.org")
    before = users()
    response = client.post("/register", data=GOOD)
    new = client.post("/register", data={**GOOD, "email": "someone.new@example.org"})
    assert response.status_code == new.status_code == 200
    assert response.get_data(as_text=True).replace("anna.mueller@example.org", "X").replace(
        "Anna.Mueller@Example.org", "X"
    ) == new.get_data(as_text=True).replace("someone.new@example.org", "X")
    assert users() == before + 1  # only the new address created an account
    kinds = {(m.to_address, m.kind) for m in outbox()}
    assert (owner.email, "account_exists") in kinds
    assert ("someone.new@example.org", "confirm") in kinds


def _assert_refused(client: FlaskClient, data: dict[str, str], field: str, text: str) -> None:
    response = client.post("/register", data=data)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="{field}-error"' in body, body
    assert text in body
    assert users() == 0 and outbox() == []


def test_bad_registration_input_creates_nothing(client: FlaskClient) -> None:
    _assert_refused(client, {**GOOD, "email": "not-an-address"}, "email", "gültige E-Mail-Adresse")
    _assert_refused(
        client, {**GOOD, "password2": "something else entirely"}, "password2", "stimmen nicht"
    )
    _assert_refused(
        client, {**GOOD, "password": "kurz", "password2": "kurz"}, "password", "mindestens 10"
    )
    consent_missing = {k: v for k, v in GOOD.items() if k != "consent"}
    _assert_refused(client, consent_missing, "consent", "Datenschutzhinweise")
    _assert_refused(
        client,
        {**GOOD, "password": "password1234", "password2": "password1234"},
        "password",
        "zu häufig",
    )


def test_login_same_answer_for_unknown_and_wrong_password(client: FlaskClient) -> None:
    make_user(Role.PARENT, email="known@example.org")
    wrong = client.post("/login", data={"email": "known@example.org", "password": "falsch!!!!!"})
    unknown = client.post("/login", data={"email": "nobody@example.org", "password": "falsch!!!!!"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_data(as_text=True).replace("known@", "X@") == unknown.get_data(
        as_text=True
    ).replace("nobody@", "X@")


def test_password_reset_single_use_and_ends_sessions(client: FlaskClient, app: Flask) -> None:
    user = make_user(Role.PARENT, email="reset@example.org")
    other = app.test_client()
    assert Auth(other).login(user).status_code == 302
    response = client.post("/reset", data={"email": "reset@example.org"})
    assert response.status_code == 200
    unknown = client.post("/reset", data={"email": "unknown@example.org"})
    assert unknown.status_code == 200
    mail = next(m for m in outbox() if m.kind == "reset")
    link = last_link(mail)
    new = "Ein neues langes Passwort"
    response = client.post(link, data={"password": new, "password2": new})
    assert response.status_code == 302
    assert any(m.kind == "password_changed" for m in outbox())
    # single use
    assert client.get(link).status_code == 400
    # the other session ended
    assert other.get("/parent/").status_code == 302
    assert Auth(client).login("reset@example.org", new).status_code == 302
    assert Auth(app.test_client()).login("reset@example.org", PASSWORD).status_code == 401


def test_forged_or_foreign_purpose_tokens_refused(client: FlaskClient, app: Flask) -> None:
    from kita.services import accounts

    user = make_user(Role.PARENT, email="tok@example.org")
    confirm = accounts.confirm_token(user)
    assert client.get(f"/reset/{confirm}").status_code == 400  # wrong purpose
    assert client.get("/confirm/garbage").status_code == 400


def test_role_blueprints_guarded(client: FlaskClient, login_as) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/office/").status_code == 302
    login_as(Role.PARENT)
    assert client.get("/office/").status_code == 403
    assert client.get("/facility/").status_code == 403
    assert client.get("/admin/").status_code == 403
    assert client.get("/parent/").status_code == 200


def test_security_headers(client: FlaskClient) -> None:
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]
