"""Ids larger than the database's integers (in a URL or a form field) answer 404 like any
id of no record, on PostgreSQL too (which refuses to compare an integer column with
them), instead of a server error."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from kita.extensions import db
from kita.models import AuditEvent, Role
from tests.conftest import Auth, make_user
from tests.services.round_helpers import office_user, released_application

BIG = "99999999999"


def test_oversized_ids_answer_404(app: Flask, municipality: dict[str, Any]) -> None:
    parent = make_user(Role.PARENT)
    application = released_application(municipality, office_user(), ["sonnenschein"], parent=parent)
    client = app.test_client()
    Auth(client).login(parent)
    form = {"start_date": "2027-01-01", "care_type": "krippe", "wish_1": "1"}
    assert client.get(f"/parent/applications/{BIG}").status_code == 404
    assert client.get(f"/parent/applications/new?child={BIG}").status_code == 404
    response = client.post("/parent/applications/new", data={**form, "child_id": BIG})
    assert response.status_code == 404
    response = client.post(
        "/parent/applications/new",
        data={**form, "child_id": str(application.child_id), "siblings": BIG},
    )
    assert response.status_code == 404
    denied = db.session.scalars(
        select(AuditEvent.object_id).where(AuditEvent.action == "access.denied")
    ).all()
    assert BIG in denied  # audited like any other id of no record


def test_ids_beyond_database_integers_in_any_url_are_404(client, login_as, municipality):  # type: ignore[no-untyped-def]
    login_as(Role.OFFICE)
    big = 2**31
    for url in (
        f"/office/applications/{big}",
        f"/office/facilities/{big}",
        f"/office/applications/{99999999999999}",
    ):
        assert client.get(url).status_code == 404
    assert client.get(f"/office/applications/{big - 1}").status_code == 404  # in range, absent
