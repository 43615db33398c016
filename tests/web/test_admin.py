"""Administration: staff accounts with invitation, deactivation, municipality settings."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from kita.extensions import db
from kita.models import AuditEvent, OutboxMail, Role, User
from tests.conftest import Auth, last_link


def test_invite_facility_staff_sets_password_via_link(
    client: FlaskClient, app: Flask, login_as, municipality
) -> None:  # type: ignore[no-untyped-def]
    login_as(Role.ADMIN)
    fac = municipality["facilities"]["sonnenschein"]
    response = client.post(
        "/admin/users/new",
        data={"email": "Leitung@Sonnenschein.example", "role": "facility", "facility": fac.id},
    )
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "leitung@sonnenschein.example"))
    assert user is not None and user.role == Role.FACILITY and user.facility_id == fac.id
    mail = db.session.scalar(select(OutboxMail).where(OutboxMail.kind == "staff_invite"))
    assert mail is not None and mail.to_address == user.email
    assert "Kita Sonnenschein" in mail.body

    other = app.test_client()
    link = last_link(mail)
    pw = "Neues Passwort für die Kita"
    assert other.post(link, data={"password": pw, "password2": pw}).status_code == 302
    assert Auth(other).login(user.email, pw).location.endswith("/facility/")


def test_facility_staff_without_facility_is_refused(client: FlaskClient, login_as) -> None:  # type: ignore[no-untyped-def]
    login_as(Role.ADMIN)
    before = db.session.query(User).count()
    response = client.post(
        "/admin/users/new", data={"email": "x@example.org", "role": "facility", "facility": 0}
    )
    assert response.status_code == 422
    assert 'id="facility-error"' in response.get_data(as_text=True)
    assert db.session.query(User).count() == before
    assert db.session.query(OutboxMail).count() == 0


def test_deactivate_ends_sessions(client: FlaskClient, app: Flask, login_as) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import make_user

    office = make_user(Role.OFFICE, email="o@example.org")
    office_client = app.test_client()
    assert Auth(office_client).login(office).status_code == 302
    login_as(Role.ADMIN)
    assert client.post(f"/admin/users/{office.id}/active", data={"active": "0"}).status_code == 302
    assert office_client.get("/office/").status_code == 302  # logged out
    assert Auth(app.test_client()).login(office).status_code == 401
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert "account.deactivate" in actions


def test_admin_cannot_touch_parent_accounts(client: FlaskClient, login_as) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import make_user

    parent = make_user(Role.PARENT)
    login_as(Role.ADMIN)
    assert client.post(f"/admin/users/{parent.id}/active", data={"active": "0"}).status_code == 404


def test_municipality_settings_shown_everywhere(client: FlaskClient, login_as) -> None:  # type: ignore[no-untyped-def]
    login_as(Role.ADMIN)
    response = client.post(
        "/admin/settings",
        data={
            "municipality_name": "Ladenburg",
            "municipality_office": "Kita-Büro Ladenburg",
            "municipality_address": "Hauptstraße 7, 68526 Ladenburg",
            "municipality_contact_email": "kita@ladenburg.example",
        },
    )
    assert response.status_code == 302
    body = client.get("/").get_data(as_text=True)
    assert "Kitaplätze in Ladenburg" in body and "Kita-Büro Ladenburg" in body
    bad = client.post("/admin/settings", data={"municipality_name": ""})
    assert bad.status_code == 422


def test_admin_removes_a_lost_second_factor(client: FlaskClient, app: Flask, login_as) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import make_user

    office = make_user(Role.OFFICE, email="lost@example.org")
    office.totp_enabled = True
    office.totp_secret = "JBSWY3DPEHPK3PXP"
    db.session.commit()
    login_as(Role.ADMIN)
    assert "Zweiten Faktor entfernen" in client.get("/admin/").get_data(as_text=True)
    assert client.post(f"/admin/users/{office.id}/totp-reset").status_code == 302
    db.session.refresh(office)
    assert not office.totp_enabled and office.totp_secret is None
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert "account.totp_reset" in actions
    # the colleague logs in with the password alone again
    assert Auth(app.test_client()).login(office).status_code == 302
