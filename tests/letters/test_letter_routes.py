"""Download routes: parents their own offer letters, the office every letter; letters to print."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from kita.extensions import db
from kita.models import Household, MailStatus, OutboxMail, Role
from kita.services import offers
from tests.conftest import Auth, make_user
from tests.letters.test_letters import pdf_text
from tests.services.round_helpers import office_user, released_application


def _offer(municipality: dict[str, Any]) -> Any:
    office = office_user()
    app = released_application(municipality, office, ["sonnenschein"])
    offer = offers.make_offer(office, app, municipality["facilities"]["sonnenschein"], wish_rank=1)
    db.session.commit()
    return offer


def test_parent_downloads_own_offer_letter_only(
    client: FlaskClient, municipality: dict[str, Any]
) -> None:
    offer = _offer(municipality)
    Auth(client).login(offer.application.child.household.user)
    response = client.get(f"/parent/offers/{offer.id}/letter.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    assert offer.application.reference in " ".join(pdf_text(response.data).split())

    Auth(client).logout()
    Auth(client).login(make_user(Role.PARENT))
    assert client.get(f"/parent/offers/{offer.id}/letter.pdf").status_code == 404


def test_office_downloads_offer_letter_and_staff_cannot(
    client: FlaskClient, municipality: dict[str, Any]
) -> None:
    offer = _offer(municipality)
    staff = make_user(Role.FACILITY, facility=municipality["facilities"]["sonnenschein"])
    Auth(client).login(staff)
    assert client.get(f"/office/offers/{offer.id}/letter.pdf").status_code == 403
    Auth(client).logout()
    Auth(client).login(make_user(Role.OFFICE))
    response = client.get(f"/office/offers/{offer.id}/letter.pdf")
    assert response.status_code == 200
    assert "Kita Sonnenschein" in pdf_text(response.data)


def test_office_prints_the_offer_letter_for_a_family_without_email(
    client: FlaskClient, municipality: dict[str, Any]
) -> None:
    office = office_user()
    app = released_application(municipality, office, ["sonnenschein"])
    household: Household = app.child.household
    household.user_id = None  # entered by the office, no e-mail address
    household.contact_email = None
    db.session.commit()
    offers.make_offer(office, app, municipality["facilities"]["sonnenschein"], wish_rank=1)
    db.session.commit()
    letter = db.session.scalars(
        select(OutboxMail).where(OutboxMail.status == MailStatus.LETTER)
    ).one()
    Auth(client).login(office)
    assert f"/office/letters/{letter.id}.pdf" in client.get("/office/letters").get_data(
        as_text=True
    )
    response = client.get(f"/office/letters/{letter.id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = " ".join(pdf_text(response.data).split())
    # the same offer letter a parent downloads: reference, facility, deadline sentence
    assert app.reference in text and "Kita Sonnenschein" in text
    assert "Bitte nehmen Sie den Platz bis zum" in text
