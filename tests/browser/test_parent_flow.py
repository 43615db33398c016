"""The whole parent flow in Chromium: register, confirm, household, child, application.

Screenshots go to /tmp/kita-parent-flow/<viewport>/ (and the shared screenshots folder).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from kita.extensions import db
from kita.models import Application, Status
from tests.browser.conftest import LiveServer, horizontal_overflow, last_mail_link

SHOTS = Path("/tmp/kita-parent-flow")
PASSWORD = "Sommer im Großen Garten"


def _shot(page: Any, viewport: str, name: str) -> None:
    folder = SHOTS / viewport
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


@pytest.mark.browser
@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_parent_files_an_application(
    live_server: LiveServer,
    municipality: dict[str, Any],
    page: Any,
    phone_page: Any,
    viewport: str,
) -> None:
    p = page if viewport == "desktop" else phone_page
    base = live_server.url
    email = f"eltern.{viewport}@example.org"
    facs = municipality["facilities"]
    wish_ids = [facs["sonnenschein"].id, facs["regenbogen"].id, facs["pusteblume"].id]
    start = municipality["round"].care_start_from + timedelta(days=1)
    db.session.remove()

    # register and confirm through the link in the outbox
    p.goto(base + "/register")
    p.get_by_label("E-Mail").fill(email)
    p.get_by_label("Passwort", exact=True).fill(PASSWORD)
    p.get_by_label("Passwort wiederholen").fill(PASSWORD)
    p.get_by_label("Ich habe die Datenschutzhinweise gelesen").check()
    p.get_by_role("button", name="Registrieren").click()
    p.goto(last_mail_link(live_server.app, email, kind="confirm"))
    p.get_by_label("E-Mail").fill(email)
    p.get_by_label("Passwort", exact=True).fill(PASSWORD)
    p.get_by_role("button", name="Anmelden").click()
    expect(p.get_by_role("heading", level=1)).to_have_text("Meine Anträge")
    _shot(p, viewport, "01-overview-empty")

    # household
    p.get_by_role("link", name="Haushalt erfassen").click()
    p.get_by_label("Vorname", exact=True).fill("Zoë-Sophie")
    p.get_by_label("Nachname", exact=True).fill("Müller-Lüdenscheidt")
    p.get_by_label("Straße und Hausnummer").fill("Schloßstraße 3a")
    p.get_by_label("Postleitzahl").fill("68526")
    p.get_by_label("Ort", exact=True).fill("Ladenburg")
    p.get_by_label("Telefon").fill("06203 1234")
    p.get_by_role("button", name="Haushalt speichern").click()
    expect(p.get_by_role("status")).to_be_visible()  # waits for the next page

    # child
    p.get_by_role("link", name="Kind hinzufügen").click()
    p.get_by_label("Vorname des Kindes").fill("Émile")
    p.get_by_label("Nachname des Kindes").fill("Müller-Lüdenscheidt")
    p.get_by_label("Geburtsdatum").fill((date.today() - timedelta(days=400)).isoformat())
    _shot(p, viewport, "02-child")
    p.get_by_role("button", name="Kind hinzufügen").click()
    expect(p.get_by_text("Émile Müller-Lüdenscheidt").first).to_be_visible()

    # application with three wishes
    p.get_by_role("link", name="Antrag für Émile stellen").click()
    p.get_by_label("Gewünschter Betreuungsbeginn").fill(start.isoformat())
    p.get_by_label("Gewünschter Betreuungsbeginn").dispatch_event("change")
    assert p.get_by_label("Betreuungsart").input_value() == "krippe"
    p.get_by_label("Wöchentliche Betreuungszeit (Stunden)").fill("35")
    for rank, fid in enumerate(wish_ids, start=1):
        p.get_by_label(f"{rank}. Wunsch").select_option(str(fid))
    p.get_by_label("Beide Eltern berufstätig").check()
    p.get_by_label("Bemerkungen").fill("Émile schläft mittags <gern> lange.")
    assert horizontal_overflow(p) == 0
    _shot(p, viewport, "03-application-form")
    p.get_by_role("button", name="Antrag absenden").click()

    timeline = p.locator("ol.timeline")
    current = timeline.locator("li.current")
    assert "Eingegangen" in current.inner_text()
    assert "Aktuelle Station:" in current.inner_text()  # not by colour alone
    assert "noch offen" in timeline.locator("li.future").first.inner_text()
    assert p.get_by_role("link", name="Antrag zurückziehen").is_visible()
    assert "<gern>" in p.locator(".remarks").inner_text()
    assert horizontal_overflow(p) == 0
    _shot(p, viewport, "04-application-timeline")

    p.get_by_role("link", name="Meine Anträge").first.click()
    assert "Eingegangen" in p.locator(".app-card").first.inner_text()
    _shot(p, viewport, "05-overview")

    with live_server.app.app_context():
        application = db.session.scalar(select(Application))
        assert application is not None and application.status == Status.SUBMITTED
        assert [w.facility_id for w in application.wishes] == wish_ids
        assert application.child.first_name == "Émile"
        db.session.remove()
