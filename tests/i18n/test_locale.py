"""German by default, English on request; dates dd.mm.yyyy in German; public help pages."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale

from kita.i18n import fmt_date, fmt_datetime


def test_dates_in_german_are_dd_mm_yyyy(app: Flask) -> None:
    with app.test_request_context("/"):
        with force_locale("de"):
            assert fmt_date(date(2027, 3, 5)) == "05.03.2027"
            # 23:30 UTC is already the next day in Berlin
            assert fmt_date(datetime(2027, 3, 5, 23, 30, tzinfo=UTC)) == "06.03.2027"
            assert fmt_datetime(datetime(2027, 3, 5, 8, 15, tzinfo=UTC)) == "05.03.2027, 09:15 Uhr"
        with force_locale("en"):
            assert fmt_date(date(2027, 3, 5)) == "2027-03-05"


def test_german_is_the_default_and_english_is_remembered(
    client: FlaskClient, municipality: dict[str, Any]
) -> None:
    deadline = municipality["round"].application_deadline
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="de">' in page
    assert "Anmelden" in page and deadline.strftime("%d.%m.%Y") in page

    page = client.get("/?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in page and "Log in" in page
    assert deadline.isoformat() in page
    page = client.get("/privacy").get_data(as_text=True)
    assert '<html lang="en">' in page  # the choice is remembered
    page = client.get("/?lang=de").get_data(as_text=True)
    assert '<html lang="de">' in page


def test_plain_language_help_page(client: FlaskClient) -> None:
    response = client.get("/help")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Hilfe in Leichter Sprache" in page
    assert "„Antrag absenden“" in page and "„Platz annehmen“" in page
    assert "kita@musterstadt.example" in page  # whom to ask
    assert 'href="/help"' in client.get("/").get_data(as_text=True)  # linked on every page


def test_accessibility_statement_has_feedback_and_enforcement(client: FlaskClient) -> None:
    page = client.get("/accessibility").get_data(as_text=True)
    assert "Erklärung zur Barrierefreiheit" in page
    for heading in (
        "Stand der Vereinbarkeit",
        "Nicht barrierefreie Inhalte",
        "Erstellung dieser Erklärung",
        "Feedback und Kontakt",
        "Durchsetzungsverfahren",
    ):
        assert heading in page
    assert "kita@musterstadt.example" in page and "Schlichtungsstelle" in page


def test_ping_is_a_bare_fixed_string(client: FlaskClient) -> None:
    response = client.get("/ping")
    assert response.status_code == 200 and response.data == b"pong\n"
    assert response.mimetype == "text/plain"
