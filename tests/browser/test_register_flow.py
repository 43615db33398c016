"""Registration -> confirmation mail -> confirm -> login -> logout in Chromium."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from kita.extensions import db
from kita.models import Role, User
from tests.browser.conftest import LiveServer, last_mail_link

EMAIL = "Jana.Schaefer@Example.org"
PASSWORD = "Sommer im Großen Garten"


def test_register_confirm_login_logout(live_server: LiveServer, page: Any, shot: Any) -> None:
    base = live_server.url
    page.goto(base + "/")
    page.get_by_role("link", name="Registrieren").first.click()
    page.get_by_label("E-Mail").fill(EMAIL)
    page.get_by_label("Passwort", exact=True).fill(PASSWORD)
    page.get_by_label("Passwort wiederholen").fill(PASSWORD)
    page.get_by_label("Ich habe die Datenschutzhinweise gelesen").check()
    shot(page, "01-register")
    page.get_by_role("button", name="Registrieren").click()
    assert (
        page.get_by_role("heading", level=1).inner_text() == "Bitte prüfen Sie Ihr E-Mail-Postfach"
    )

    with live_server.app.app_context():
        user = db.session.scalar(select(User).where(User.email == EMAIL.lower()))
        assert user is not None and user.role == Role.PARENT and user.confirmed_at is None
        db.session.remove()

    # not confirmed yet: the login form refuses with the generic message
    page.goto(base + "/login")
    page.get_by_label("E-Mail").fill(EMAIL)
    page.get_by_label("Passwort", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    assert page.locator("#error-summary").is_visible()
    assert "/login" in page.url

    link = last_mail_link(live_server.app, EMAIL, kind="confirm")
    assert link.startswith(base + "/confirm/")
    page.goto(link)
    assert page.url == base + "/login"
    assert page.get_by_role("status").is_visible()  # the flash: address confirmed

    page.get_by_label("E-Mail").fill(EMAIL)
    page.get_by_label("Passwort", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    assert page.url == base + "/parent/"
    assert page.get_by_role("heading", level=1).inner_text() == "Meine Anträge"
    shot(page, "02-parent-home")

    page.get_by_role("button", name="Abmelden").click()
    assert page.url == base + "/"
    assert page.get_by_role("link", name="Anmelden").first.is_visible()
    page.goto(base + "/parent/")
    assert "/login" in page.url  # the session is gone

    with live_server.app.app_context():
        user = db.session.scalar(select(User).where(User.email == EMAIL.lower()))
        assert user is not None and user.confirmed_at is not None
        db.session.remove()
