"""Browser: the office runs the allocation, watches the progress, inspects, publishes."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from kita.extensions import db
from kita.models import Offer, OfferStatus, Role
from kita.services import allocation_runs
from tests.browser.conftest import (
    PHONE,
    horizontal_overflow,
    login,
    new_page,
)
from tests.conftest import PASSWORD, make_user
from tests.services.round_helpers import released_application


def test_office_runs_inspects_and_publishes(
    app: Flask,
    live_server: Any,
    municipality: dict[str, Any],
    page: Any,
    browser: Any,
    shot: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    office = make_user(Role.OFFICE, email="office-run@example.org")
    for wishes in (["sonnenschein", "regenbogen"], ["sonnenschein"], ["regenbogen"]):
        released_application(municipality, office, wishes)
    released_application(municipality, office, ["sonnenschein", "pusteblume"])
    released_application(municipality, office, ["regenbogen", "sonnenschein"])
    staff = make_user(
        Role.FACILITY,
        email="leitung@example.org",
        facility=municipality["facilities"]["sonnenschein"],
    )
    round_id = municipality["round"].id
    office_email, staff_email = office.email, staff.email
    db.session.commit()
    db.session.remove()

    # hold the worker until the progress page has been seen
    go = threading.Event()
    original = allocation_runs._thread_main

    def held(flask_app: Flask, run_id: int) -> None:
        go.wait(20)
        original(flask_app, run_id)

    monkeypatch.setattr(allocation_runs, "_thread_main", held)

    base = live_server.url
    login(page, base, office_email, PASSWORD)
    page.goto(f"{base}/office/rounds/{round_id}/runs")
    shot(page, "runs-list-empty")
    page.get_by_label("Verfahren").select_option("stable")
    page.get_by_role("button", name="Vergabe berechnen").first.click()
    page.wait_for_url("**/office/runs/*")
    progress = page.locator("#run-bar")
    assert progress.is_visible()
    assert "Wartet" in page.locator("#run-status").inner_text()
    shot(page, "run-progress")
    go.set()
    # the script polls the JSON endpoint and opens the result when the run is done
    page.get_by_role("heading", name="Überblick").wait_for()
    assert page.locator("#stat-placed").inner_text() == "5"
    assert page.get_by_role("button", name="Angebote versenden").is_visible()
    page.wait_for_function(
        "() => { const i = document.querySelector(\"img[src$='chart.svg']\");"
        " return i && i.complete && i.naturalWidth > 0; }"
    )
    shot(page, "run-result")
    phone = new_page(browser, PHONE, is_mobile=True, has_touch=True)
    login(phone, base, office_email, PASSWORD)
    phone.goto(page.url)
    assert horizontal_overflow(phone) == 0
    shot(phone, "run-result-phone")
    phone.goto(f"{base}/office/rounds/{round_id}/runs")
    assert horizontal_overflow(phone) == 0
    shot(phone, "runs-list-phone")

    page.get_by_role("button", name="Angebote versenden").click()
    page.get_by_text("Angebote versendet").wait_for()
    shot(page, "run-published")
    with app.app_context():
        assert (
            db.session.scalars(select(Offer).where(Offer.status == OfferStatus.OPEN))
            .all()
            .__len__()
            == 5
        )
        db.session.remove()

    page.goto(f"{base}/office/rounds/{round_id}/runs")
    assert page.get_by_role("heading", name="Vergaben vergleichen").is_visible()
    shot(page, "runs-list")
    page.goto(f"{base}/office/rounds/{round_id}/alternatives")
    shot(page, "alternatives")

    # facility staff see their children, desktop and phone
    phone.context.clear_cookies()
    login(phone, base, staff_email, PASSWORD)
    phone.goto(f"{base}/facility/")
    assert horizontal_overflow(phone) == 0
    shot(phone, "facility-phone")
    fpage = new_page(browser, {"width": 1280, "height": 900})
    login(fpage, base, staff_email, PASSWORD)
    fpage.goto(f"{base}/facility/")
    assert fpage.get_by_role("heading", name="Kita Sonnenschein").is_visible()
    shot(fpage, "facility")
    fpage.context.close()
    phone.context.close()
