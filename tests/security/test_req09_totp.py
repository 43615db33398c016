"""Requirement 9: staff accounts can require a second factor (TOTP), and the office can
make it mandatory for every staff account."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pyotp
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from kita.extensions import db
from kita.models import AuditEvent, Role, Setting, User
from tests.conftest import PASSWORD, Auth, make_user


def _enrol(client: FlaskClient, user: User) -> pyotp.TOTP:
    page = client.get("/account/two-factor")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    uri = re.search(r'href="(otpauth://totp/[^"]+)"', body)
    assert uri, body
    totp = pyotp.parse_uri(uri.group(1).replace("&amp;", "&"))
    shown = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', body)
    assert shown and shown.group(1).replace(" ", "") == totp.secret  # typed by hand
    response = client.post("/account/two-factor", data={"code": totp.now()})
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.totp_enabled
    return totp


def _staff(municipality, role: Role = Role.FACILITY) -> User:  # type: ignore[no-untyped-def]
    facility = municipality["facilities"]["regenbogen"] if role == Role.FACILITY else None
    return make_user(role, facility=facility)


def test_req09_password_alone_no_longer_logs_in(app: Flask, municipality) -> None:  # type: ignore[no-untyped-def]
    user = _staff(municipality)
    client = app.test_client()
    Auth(client).login(user)
    totp = _enrol(client, user)

    attacker = app.test_client()
    response = Auth(attacker).login(user)  # the stolen password is right ...
    assert response.status_code == 302 and response.location.endswith("/login/code")
    assert attacker.get("/facility/").status_code == 302  # ... but not enough
    for guess in ("000000", "123456", "abcdef", ""):
        assert attacker.post("/login/code", data={"code": guess}).status_code in (401, 422)
    assert attacker.get("/facility/").status_code == 302
    with time_machine.travel(time.time() + 31, tick=False):  # the owner's next code
        response = attacker.post("/login/code", data={"code": totp.now()})
        assert response.status_code == 302 and response.location.endswith("/facility/")
        assert attacker.get("/facility/").status_code == 200


def test_req09_code_cannot_be_replayed(app: Flask, municipality) -> None:  # type: ignore[no-untyped-def]
    user = _staff(municipality, Role.OFFICE)
    owner = app.test_client()
    Auth(owner).login(user)
    totp = _enrol(owner, user)
    now = time.time()
    with time_machine.travel(now + 60, tick=False):
        code = totp.now()
        first = app.test_client()
        Auth(first).login(user)
        assert first.post("/login/code", data={"code": code}).status_code == 302
        # an observer who saw the code uses it again within the same 30 seconds
        second = app.test_client()
        Auth(second).login(user)
        assert second.post("/login/code", data={"code": code}).status_code == 401
        assert second.get("/office/").status_code == 302


def test_req09_code_guessing_is_throttled(app: Flask, municipality) -> None:  # type: ignore[no-untyped-def]
    user = _staff(municipality)
    client = app.test_client()
    Auth(client).login(user)
    totp = _enrol(client, user)
    attacker = app.test_client()
    codes = []
    for i in range(12):
        if i % 4 == 0:  # log in again with the stolen password from time to time
            Auth(attacker).login(user)
        codes.append(attacker.post("/login/code", data={"code": f"{i:06d}"}).status_code)
    assert codes[:10] == [401] * 10
    assert codes[10:] == [429, 429]
    # now even the right code is refused for a while (a slow-down, not a lock-out)
    attacker.post("/login/code", data={"code": totp.now()})
    assert attacker.get("/facility/").status_code == 302


def test_req09_pending_second_step_expires(app: Flask, municipality) -> None:  # type: ignore[no-untyped-def]
    user = _staff(municipality)
    client = app.test_client()
    Auth(client).login(user)
    totp = _enrol(client, user)
    other = app.test_client()
    with time_machine.travel(time.time() + 90, tick=False) as clock:
        Auth(other).login(user)
        clock.shift(timedelta(minutes=6))
        response = other.post("/login/code", data={"code": totp.now()})
        assert response.status_code == 302 and response.location.endswith("/login")
        assert other.get("/facility/").status_code == 302


def test_req09_code_step_without_password_step_refused(client: FlaskClient, municipality) -> None:  # type: ignore[no-untyped-def]
    _staff(municipality)
    response = client.post("/login/code", data={"code": "123456"})
    assert response.status_code == 302 and response.location.endswith("/login")


def test_req09_office_makes_it_mandatory(app: Flask, municipality) -> None:  # type: ignore[no-untyped-def]
    office = make_user(Role.OFFICE, email="office@example.org")
    staff = _staff(municipality)
    parent = make_user(Role.PARENT, email="parent@example.org")

    # a facility member may not change the policy
    staff_client = app.test_client()
    Auth(staff_client).login(staff)
    assert (
        staff_client.post("/account/two-factor/policy", data={"required": "y"}).status_code == 404
    )
    assert db.session.get(Setting, "staff_totp_required") is None

    office_client = app.test_client()
    Auth(office_client).login(office)
    page = office_client.get("/account/two-factor").get_data(as_text=True)
    assert 'name="required"' in page
    response = office_client.post("/account/two-factor/policy", data={"required": "y"})
    assert response.status_code == 302
    setting = db.session.get(Setting, "staff_totp_required")
    assert setting is not None and setting.value == "1"
    assert db.session.scalar(
        select(AuditEvent).where(AuditEvent.object_id == "staff_totp_required")
    )

    # staff without a second factor are sent to the set-up before anything else
    for path in ("/facility/", "/account/password", "/"):
        response = staff_client.get(path)
        assert response.status_code == 302 and response.location.endswith("/account/two-factor")
    fresh = app.test_client()
    response = Auth(fresh).login(staff)
    assert fresh.get(response.location).location.endswith("/account/two-factor")
    _enrol(fresh, staff)
    assert fresh.get("/facility/").status_code == 200
    # switching it off is refused while mandatory
    totp_page = fresh.get("/account/two-factor").get_data(as_text=True)
    assert "Switch off" not in totp_page and "ausschalten" not in totp_page.lower()
    # parents are not affected
    parent_client = app.test_client()
    Auth(parent_client).login(parent)
    assert parent_client.get("/parent/").status_code == 200
    assert parent_client.get("/account/two-factor").status_code == 404


def test_req09_enabling_ends_other_sessions_and_disable_needs_a_code(
    app: Flask, municipality
) -> None:  # type: ignore[no-untyped-def]
    user = _staff(municipality, Role.ADMIN)
    old = app.test_client()
    Auth(old).login(user)
    client = app.test_client()
    Auth(client).login(user)
    totp = _enrol(client, user)
    assert old.get("/admin/").status_code == 302  # the session without a factor ended
    assert client.get("/admin/").status_code == 200
    assert client.post("/account/two-factor", data={"code": "000000"}).status_code == 422
    db.session.refresh(user)
    assert user.totp_enabled
    with time_machine.travel(time.time() + 60, tick=False):
        assert client.post("/account/two-factor", data={"code": totp.now()}).status_code == 302
    db.session.refresh(user)
    assert not user.totp_enabled and user.totp_secret is None
    assert Auth(app.test_client()).login(user, PASSWORD).location.endswith("/admin/")
