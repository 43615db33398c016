"""Mails go out in the language the family chose; they name the reference number, link to
the application and carry no personal data beyond the child's first name."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from kita.extensions import db
from kita.models import Household, OutboxMail, Role
from kita.services import applications, households
from kita.services.applications import ApplicationInput
from tests.conftest import make_user


@pytest.mark.parametrize(
    ("locale", "expected", "unexpected"),
    [
        ("en", "has reached a new station: In review", "Prüfung"),
        ("de", "hat eine neue Station erreicht: In Prüfung", "new station"),
    ],
)
def test_status_mail_in_the_family_language(
    app: Flask, municipality: dict[str, Any], locale: str, expected: str, unexpected: str
) -> None:
    parent = make_user(Role.PARENT)
    parent.locale = locale
    office = make_user(Role.OFFICE)
    household = db.session.scalar(select(Household).where(Household.user_id == parent.id))
    assert household is not None
    households.update_household(
        parent,
        household,
        first_name="Jana",
        last_name="Ölmez-Brück",
        street="Weg 2",
        postal_code="12345",
        city="Musterstadt",
    )
    child = households.add_child(
        parent,
        household,
        first_name="Lotta",
        last_name="Ölmez-Brück",
        birth_date=date.today() - timedelta(days=420),
    )
    round_ = municipality["round"]
    application = applications.create(
        parent,
        child,
        round_,
        ApplicationInput(
            child_id=child.id,
            round_id=round_.id,
            start_date=round_.care_start_from,
            care_type="krippe",
            weekly_hours=30,
            wishes=[municipality["facilities"]["regenbogen"].id],
        ),
        submit=True,
    )
    applications.transition(application, "start_review", office)
    mail = db.session.scalars(select(OutboxMail).order_by(OutboxMail.id.desc())).first()
    assert mail is not None and mail.locale == locale and mail.to_address == parent.email
    assert expected in mail.body and unexpected not in mail.body
    assert application.reference in mail.subject and application.reference in mail.body
    assert f"/parent/applications/{application.id}" in mail.body
    assert "Lotta" in mail.body
    for personal in ("Ölmez-Brück", "Weg 2", child.birth_date.strftime("%d.%m.%Y")):
        assert personal not in mail.body and personal not in mail.subject
