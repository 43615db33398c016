"""The whole journey in Chromium, through the labels of UI.md.

A parent registers and files applications for two siblings (twins); the office reviews
and releases them, runs the allocation and sends the offers; the parent sees the offers
and the explanation and accepts; the facility confirms the enrollment; the parent's
timeline shows every station. Screenshots of the key pages go to
screenshots/test_whole_journey/ (desktop 1280 px and phone 360 px); with
KITA_UPDATE_DOCS_SCREENSHOTS=1 three of them are copied to docs/screenshots/ for the README.
"""

from __future__ import annotations

import os
import re
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from kita.extensions import db
from kita.models import Application, Child, EnrollmentStatus, Household, Role, Status, User
from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    ROOT,
    LiveServer,
    last_mail_link,
    login,
    new_page,
)
from tests.conftest import PASSWORD, make_user
from tests.letters.test_letters import pdf_text
from tests.services.round_helpers import released_application

PARENT_EMAIL = "familie.schroeder@example.org"
PARENT_PASSWORD = "Wir wünschen uns einen Kitaplatz"
TWINS = ("Jonas", "Lotta")
README_SHOTS = {
    "06-parent-timeline": "parent-timeline.png",
    "04-office-run-result": "office-run-result.png",
    "05-facility-view": "facility-view.png",
}

STATIONS = ["Eingegangen", "In Prüfung", "Freigegeben", "Platzangebot", "Angenommen"]


def both_widths(page: Any, shot: Any, name: str, phone: Any) -> None:
    """Screenshot the current page at 1280 px and the same URL at 360 px."""
    shot(page, name)
    phone.goto(page.url)
    shot(phone, name + "-phone")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} scrolls sideways on a phone ({width} px)"


def test_whole_journey(
    live_server: LiveServer, browser: Any, municipality: dict[str, Any], shot: Any
) -> None:
    base = live_server.url
    round_ = municipality["round"]
    round_id = round_.id
    start = round_.care_start_from + timedelta(days=14)
    birth = start - timedelta(days=540)  # the twins are 1 1/2 at the start: Krippe
    pusteblume = municipality["facilities"]["pusteblume"]
    office_user = make_user(Role.OFFICE, email="koordination@example.org")
    make_user(Role.FACILITY, email="leitung.pusteblume@example.org", facility=pusteblume)
    # another family with confirmed social hardship takes one of Sonnenschein's two Krippe
    # places, so the twins (to be placed together) get their second wish: the explanation
    # tells the parent why
    released_application(municipality, office_user, ["sonnenschein"], criteria=[("hardship", None)])
    db.session.commit()
    db.session.close()

    parent = new_page(browser, DESKTOP)
    phone = new_page(browser, PHONE, is_mobile=True, has_touch=True)

    # --- the parent registers, confirms the address and logs in -----------------------
    parent.goto(base + "/")
    parent.get_by_role("link", name="Registrieren").first.click()
    parent.get_by_label("E-Mail").fill(PARENT_EMAIL)
    parent.get_by_label("Passwort", exact=True).fill(PARENT_PASSWORD)
    parent.get_by_label("Passwort wiederholen").fill(PARENT_PASSWORD)
    parent.get_by_label("Ich habe die Datenschutzhinweise gelesen").check()
    parent.get_by_role("button", name="Registrieren").click()
    parent.goto(last_mail_link(live_server.app, PARENT_EMAIL, kind="confirm"))
    login(parent, base, PARENT_EMAIL, PARENT_PASSWORD)
    assert parent.url == base + "/parent/"
    login(phone, base, PARENT_EMAIL, PARENT_PASSWORD)  # the same parent on a phone

    # --- household and the two children ---------------------------------------------------
    parent.goto(base + "/parent/household")
    parent.get_by_label("Vorname", exact=True).fill("Sabine")
    parent.get_by_label("Nachname", exact=True).fill("Schröder")
    parent.get_by_label("Straße und Hausnummer").fill("Goethestraße 12")
    parent.get_by_label("Postleitzahl").fill("12345")
    parent.get_by_label("Ort").fill("Musterstadt")
    parent.get_by_label("Telefon").fill("0301234567")
    parent.get_by_role("button", name="Haushalt speichern").click()
    for first_name in TWINS:
        parent.goto(base + "/parent/children/new")
        parent.get_by_label("Vorname des Kindes").fill(first_name)
        parent.get_by_label("Nachname des Kindes").fill("Schröder")
        parent.get_by_label("Geburtsdatum").fill(birth.isoformat())
        parent.get_by_role("button", name="Kind hinzufügen").click()
        assert "/children/new" not in parent.url, parent.content()[:1500]

    # --- one application for both siblings ---------------------------------------------------
    parent.goto(base + "/parent/applications/new")
    select_containing(parent.get_by_label("Kind", exact=True), TWINS[0])
    parent.get_by_label(re.compile(f"^{TWINS[1]} ")).check()
    parent.get_by_label("Geschwister bitte gemeinsam aufnehmen").check()
    parent.get_by_label("Gewünschter Betreuungsbeginn").fill(start.isoformat())
    parent.get_by_label("Betreuungsart").select_option("krippe")
    parent.get_by_label("Wöchentliche Betreuungszeit (Stunden)").fill("35")
    select_containing(parent.get_by_label("1. Wunsch"), "Kita Sonnenschein")
    select_containing(parent.get_by_label("2. Wunsch"), "Kita Pusteblume")
    parent.get_by_label("Beide Eltern berufstätig").check()
    parent.get_by_label("Bemerkungen").fill("Zwillinge, bitte gemeinsam betreuen.")
    shot(parent, "01-parent-application-form")
    parent.get_by_role("button", name="Antrag absenden").click()
    parent.goto(base + "/parent/")
    both_widths(parent, shot, "02-parent-overview", phone)

    apps = db.session.scalars(
        select(Application)
        .join(Child)
        .join(Household)
        .join(User)
        .where(User.email == PARENT_EMAIL)
        .order_by(Application.id)
    ).all()
    assert [a.child.first_name for a in apps] == list(TWINS)
    assert all(a.status == Status.SUBMITTED for a in apps)
    assert apps[0].sibling_group is not None and apps[0].sibling_group == apps[1].sibling_group
    app_ids = [a.id for a in apps]
    references = [a.reference for a in apps]
    db.session.close()

    # --- the office reviews and releases both ------------------------------------------------
    office = new_page(browser, DESKTOP)
    login(office, base, "koordination@example.org", PASSWORD)
    office.goto(base + "/office/applications")
    for ref in references:
        assert ref in office.content()
    for app_id in app_ids:
        office.goto(f"{base}/office/applications/{app_id}")
        office.get_by_role("button", name="Prüfung beginnen").click()
        if app_id == app_ids[0]:
            shot(office, "03-office-application")
        office.goto(f"{base}/office/applications/{app_id}")
        office.get_by_role("button", name="Freigeben").click()
    assert [db.session.get(Application, i).status for i in app_ids] == [Status.RELEASED] * 2
    db.session.close()

    # --- the office runs the allocation and sends the offers ----------------------------------
    office.goto(f"{base}/office/rounds/{round_id}/runs")
    office.get_by_role("button", name="Vergabe berechnen").first.click()
    office.wait_for_url(re.compile(r"/office/runs/\d+"))
    office.get_by_role("button", name="Angebote versenden").wait_for(timeout=60_000)
    office_phone = phone_for(browser, base, "koordination@example.org", PASSWORD)
    both_widths(office, shot, "04-office-run-result", office_phone)
    office.get_by_role("button", name="Angebote versenden").click()
    office.wait_for_load_state()
    assert [db.session.get(Application, i).status for i in app_ids] == [Status.OFFERED] * 2
    db.session.close()

    # --- the parent sees the offers and the explanation, and accepts --------------------------
    for i, app_id in enumerate(app_ids):
        parent.goto(f"{base}/parent/applications/{app_id}")
        assert parent.get_by_role("heading", name=re.compile("Kita Pusteblume")).is_visible()
        why = parent.locator(".outcome").inner_text()  # the explanation of the outcome
        assert "Kita Sonnenschein" in why, why
        if i == 0:
            both_widths(parent, shot, "05a-parent-offer", phone)
            with parent.expect_download() as download:
                parent.get_by_role("link", name="Angebotsschreiben (PDF)").click()
            letter = " ".join(pdf_text(Path(download.value.path()).read_bytes()).split())
            assert references[0] in letter and "Kita Pusteblume" in letter
            assert "Jonas Schröder" in letter and "Goethestraße 12" in letter
        parent.get_by_role("button", name="Platz annehmen").click()
        parent.wait_for_load_state()
    assert [db.session.get(Application, i).status for i in app_ids] == [Status.ACCEPTED] * 2
    db.session.close()

    # --- the facility confirms the enrollment of both -----------------------------------------
    facility = new_page(browser, DESKTOP)
    login(facility, base, "leitung.pusteblume@example.org", PASSWORD)
    assert facility.url == base + "/facility/"
    facility_phone = phone_for(browser, base, "leitung.pusteblume@example.org", PASSWORD)
    both_widths(facility, shot, "05-facility-view", facility_phone)
    for _ in app_ids:
        facility.get_by_role("button", name="Aufnahme bestätigen").first.click()
        facility.wait_for_load_state()
    shot(facility, "05b-facility-after")
    for app_id in app_ids:
        application = db.session.get(Application, app_id)
        assert application.status == Status.ENROLLED
        assert application.offers[-1].enrollment.status == EnrollmentStatus.CONFIRMED
    db.session.close()

    # --- the parent's timeline shows every station -------------------------------------------
    parent.goto(f"{base}/parent/applications/{app_ids[0]}")
    timeline = parent.locator(".timeline").inner_text()
    for station in [*STATIONS, "Platz belegt"]:
        assert station in timeline, (station, timeline)
    today = datetime.now(ZoneInfo("Europe/Berlin")).strftime("%d.%m.%Y")
    assert today in timeline  # dated, in the German format
    both_widths(parent, shot, "06-parent-timeline", phone)

    if os.environ.get("KITA_UPDATE_DOCS_SCREENSHOTS"):  # refresh the README's pictures
        folder = ROOT / "screenshots" / "test_whole_journey"
        docs = ROOT / "docs" / "screenshots"
        docs.mkdir(parents=True, exist_ok=True)
        for name, target in README_SHOTS.items():
            shutil.copyfile(folder / f"{name}.png", docs / target)
    for p in (parent, phone, office, office_phone, facility, facility_phone):
        p.context.close()


def select_containing(select: Any, text: str) -> None:
    """Choose the option whose text contains ``text``."""
    value = select.locator("option", has_text=text).first.get_attribute("value")
    select.select_option(value)


def phone_for(browser: Any, base: str, email: str, password: str) -> Any:
    """A phone-sized page logged in as staff (for the 360 px screenshot of a staff page)."""
    page = new_page(browser, PHONE, is_mobile=True, has_touch=True)
    login(page, base, email, password)
    return page
