"""Offer letters as PDF: header, reference, facility, deadline, umlauts; letters to print."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from kita.extensions import db
from kita.models import AuditEvent, Guardian, Household, MailStatus, Offer, OutboxMail, Role
from kita.services import letters, offers
from tests.conftest import make_user
from tests.services.round_helpers import office_user, released_application

BERLIN = ZoneInfo("Europe/Berlin")


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def _offer(municipality: dict[str, Any]) -> Offer:
    office = office_user()
    app = released_application(municipality, office, ["sonnenschein"])
    fac = municipality["facilities"]["sonnenschein"]
    fac.name = "Kita Grüne Wiese"
    fac.street = "Rosenstraße 5"
    fac.postal_code = "12345"
    fac.city = "Musterstadt"
    app.child.first_name = "Jörg"
    app.child.last_name = "Müßig"
    db.session.commit()
    offer = offers.make_offer(office, app, fac, wish_rank=1)
    db.session.commit()
    return offer


def test_offer_letter_has_header_reference_facility_deadline_and_umlauts(
    municipality: dict[str, Any],
) -> None:
    offer = _offer(municipality)
    data = letters.offer_letter_pdf(offer)
    text = pdf_text(data)
    (tmp_dir := Path(__file__).resolve().parents[2] / "screenshots" / "letters").mkdir(
        parents=True, exist_ok=True
    )
    (tmp_dir / "offer-letter.pdf").write_bytes(data)
    assert len(PdfReader(io.BytesIO(data)).pages) == 1  # one sheet
    flat = " ".join(text.split())
    assert "Stadt Musterstadt" in flat  # the municipality's header
    assert "Koordinierungsstelle Kindertagesbetreuung" in flat
    assert offer.application.reference in flat
    assert "Kita Grüne Wiese" in flat and "Rosenstraße 5" in flat
    assert "Jörg Müßig" in flat
    assert offer.deadline.astimezone(BERLIN).strftime("%d.%m.%Y, %H:%M Uhr") in flat
    assert "Platzangebot" in flat or "Betreuungsplatz" in flat
    assert "Mit freundlichen Grüßen" in flat
    assert "Eva Muster" in flat and "12345 Musterstadt" in flat  # the postal address


def test_offer_letter_in_english_for_english_families(municipality: dict[str, Any]) -> None:
    offer = _offer(municipality)
    flat = " ".join(pdf_text(letters.offer_letter_pdf(offer, locale="en")).split())
    assert "Reference number: " + offer.application.reference in flat
    assert "Kita Grüne Wiese" in flat


def test_family_without_email_gets_the_offer_letter_to_print(municipality: dict[str, Any]) -> None:
    office = office_user()
    app = released_application(municipality, office, ["sonnenschein"])
    household: Household = app.child.household
    household.user_id = None  # a family the office entered, without an e-mail address
    household.contact_email = None
    household.guardians.append(Guardian(first_name="Ayşe", last_name="Öztürk"))
    db.session.commit()
    offers.make_offer(office, app, municipality["facilities"]["sonnenschein"], wish_rank=1)
    db.session.commit()

    (mail,) = db.session.scalars(
        select(OutboxMail).where(OutboxMail.status == MailStatus.LETTER)
    ).all()
    assert mail.status == MailStatus.LETTER and mail.kind == "offer_made"
    flat = " ".join(pdf_text(letters.mail_letter_pdf(mail)).split())
    assert app.reference in flat and "Kita Sonnenschein" in flat
    assert "Ayşe Öztürk" in flat
    assert mail.to_address is None


def test_other_letters_print_the_mail_text(municipality: dict[str, Any]) -> None:
    household = Household(street="Lindenweg 3", postal_code="12345", city="Musterstadt")
    household.guardians.append(Guardian(first_name="Käthe", last_name="Groß"))
    db.session.add(household)
    db.session.flush()
    mail = OutboxMail(
        message_id="<x@kita>",
        kind="status_changed",
        to_address=None,
        subject="Antrag KV-1: Freigegeben",
        body="Hallo,\nIhr Antrag wurde geprüft und freigegeben.\n",
        household_id=household.id,
        status=MailStatus.LETTER,
    )
    db.session.add(mail)
    db.session.commit()
    flat = " ".join(pdf_text(letters.mail_letter_pdf(mail)).split())
    assert "Antrag KV-1: Freigegeben" in flat and "geprüft und freigegeben" in flat
    assert "Käthe Groß" in flat and "Lindenweg 3" in flat


def test_offer_download_scoped_to_own_family_and_office(municipality: dict[str, Any]) -> None:
    offer = _offer(municipality)
    parent = offer.application.child.household.user
    assert letters.get_offer_or_404(offer.id, parent) is offer
    assert letters.get_offer_or_404(offer.id, make_user(Role.OFFICE)) is offer
    staff = make_user(Role.FACILITY, facility=municipality["facilities"]["sonnenschein"])
    for user in (make_user(Role.PARENT), staff):
        with pytest.raises(NotFound):
            letters.get_offer_or_404(offer.id, user)
    denials = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "access.denied")
    ).all()
    assert len(denials) == 2
