"""Browser: the office issues a new access code for a family entered on paper."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

from kita.extensions import db
from kita.models import Role
from tests.browser.conftest import PHONE, axe_violations, horizontal_overflow, login, new_page
from tests.conftest import PASSWORD, make_user
from tests.services.round_helpers import paper_application


def test_office_issues_a_new_access_code(
    app: Flask,
    live_server: Any,
    municipality: dict[str, Any],
    page: Any,
    browser: Any,
    shot: Any,
) -> None:
    office = make_user(Role.OFFICE, email="office-code@example.org")
    application, first_code = paper_application(office, municipality, "Jörg", "Lüdia")
    url = f"{live_server.url}/office/applications/{application.id}"
    email = office.email
    db.session.commit()
    db.session.remove()

    login(page, live_server.url, email, PASSWORD)
    page.goto(url)
    assert "Herkunft: Von der Koordinierungsstelle erfasst" in page.inner_text("main")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Neuen Zugangscode ausstellen").click()
    flash = page.get_by_text("Neuer Zugangscode für die Familie")
    flash.wait_for()
    new_code = re.search(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", flash.inner_text())
    assert new_code is not None and new_code.group(0) != first_code
    assert axe_violations(page) == []
    shot(page, "office-new-access-code")

    phone = new_page(browser, PHONE, is_mobile=True, has_touch=True)
    try:
        login(phone, live_server.url, email, PASSWORD)
        phone.goto(url)
        assert horizontal_overflow(phone) == 0
        assert axe_violations(phone) == []
        shot(phone, "office-new-access-code-phone")
    finally:
        phone.context.close()
