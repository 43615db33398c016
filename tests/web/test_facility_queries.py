"""The facility desk loads its rows in a bounded number of queries (no query per row)."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from kita.extensions import db
from kita.models import Facility, Role
from tests.conftest import statements_run
from tests.office_bulk import generate


def _queries(client: FlaskClient) -> int:
    with statements_run() as statements:
        assert client.get("/facility/").status_code == 200
    return len(statements)


def test_facility_desk_queries_do_not_grow_with_applicants(
    client: FlaskClient, app: Any, login_as: Any
) -> None:
    generate(80, seed=1)
    facility = db.session.scalars(select(Facility).order_by(Facility.id)).first()
    assert facility is not None
    login_as(Role.FACILITY, facility=facility)
    small = _queries(client)
    generate(240, seed=2)
    db.session.commit()
    large = _queries(client)
    assert large == small, (small, large)
