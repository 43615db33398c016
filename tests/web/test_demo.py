"""`flask --app kita demo` on an empty database gives a usable demo municipality."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from kita.extensions import db
from kita.models import Application, Child, Facility, Household, Role, Status, User


def test_demo_on_empty_database_then_start_page_lists_facilities(
    app: Flask, client: FlaskClient
) -> None:
    result = app.test_cli_runner().invoke(args=["demo", "--password", "demo-passwort-123"])
    assert result.exit_code == 0, result.output
    assert "office@kita.example" in result.output

    assert db.session.scalar(select(func.count(Facility.id))) == 12
    assert db.session.scalar(select(func.count(Household.id))) == 300
    assert db.session.scalar(select(func.count(Child.id))) == 330
    districts = db.session.scalars(select(Facility.district).distinct()).all()
    assert len(districts) == 4
    staff = db.session.scalar(select(func.count(User.id)).where(User.role == Role.FACILITY))
    assert staff == 12
    stations = set(db.session.scalars(select(Application.status).distinct()).all())
    assert {Status.SUBMITTED, Status.IN_REVIEW, Status.RELEASED, Status.QUERY} <= stations
    # every application has its real timeline, starting with its creation
    app_ = db.session.scalar(select(Application).where(Application.status == Status.RELEASED))
    assert app_ is not None
    assert [e.action for e in app_.events][:4] == ["create", "submit", "start_review", "release"]

    body = client.get("/").get_data(as_text=True)
    for name in db.session.scalars(select(Facility.name)).all():
        assert name in body
    assert "Kita-Jahr" in body

    # the demo logins work
    response = client.post(
        "/login", data={"email": "office@kita.example", "password": "demo-passwort-123"}
    )
    assert response.status_code == 302 and response.location.endswith("/office/")


def test_demo_refuses_a_database_with_data(app: Flask) -> None:
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo", "--families", "3"]).exit_code == 0
    again = runner.invoke(args=["demo", "--families", "3"])
    assert again.exit_code != 0 and "not empty" in again.output
