"""The parent's overview shows every child's applications and open offers in a bounded
number of queries (no query per child or application)."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from kita.extensions import db
from kita.models import Role
from kita.services import offers
from tests.conftest import Auth, make_user, statements_run
from tests.services.round_helpers import office_user, released_application


def _queries(client: FlaskClient) -> tuple[int, str]:
    with statements_run() as statements:
        response = client.get("/parent/")
        assert response.status_code == 200
    return len(statements), response.get_data(as_text=True)


def test_overview_queries_do_not_grow_with_children(
    client: FlaskClient, municipality: dict[str, Any], auth: Auth
) -> None:
    office = office_user()
    parent = make_user(Role.PARENT)
    facility = municipality["facilities"]["sonnenschein"]
    first = released_application(municipality, office, ["sonnenschein"], parent=parent)
    offers.make_offer(office, first, facility, wish_rank=1)
    db.session.commit()
    auth.login(parent)
    one, page = _queries(client)
    assert first.reference in page and facility.name in page
    more = [
        released_application(municipality, office, ["sonnenschein"], parent=parent)
        for _ in range(3)
    ]
    for app in more:
        offers.make_offer(office, app, facility, wish_rank=1)
    db.session.commit()
    four, page = _queries(client)
    assert all(a.reference in page for a in more)
    assert page.count(facility.name) >= 4
    assert four == one, (one, four)
