"""The office's alternative-offer page lists the waiting list in a bounded number of
queries and offers each child the free places outside its wishes, own district first."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from kita.extensions import db
from kita.models import Role
from kita.services import offers
from kita.services.applications import transition
from tests.conftest import statements_run
from tests.services.round_helpers import office_user, released_application


def _page(client: FlaskClient, round_id: int) -> tuple[int, str]:
    with statements_run() as statements:
        response = client.get(f"/office/rounds/{round_id}/alternatives")
        assert response.status_code == 200
    return len(statements), response.get_data(as_text=True)


def _waiting(municipality: dict[str, Any], office: Any, district: str) -> Any:
    app = released_application(municipality, office, ["regenbogen"], district=district)
    transition(app, "waitlist", office)
    db.session.commit()
    return app


def test_alternatives_page_queries_do_not_grow_with_the_waiting_list(
    client: FlaskClient, municipality: dict[str, Any], login_as: Any
) -> None:
    office = office_user()
    first = _waiting(municipality, office, "Nordstadt")
    expected = [a.facility.slug for a in offers.alternative_facilities(first)]
    assert expected == ["pusteblume", "sonnenschein"]
    login_as(Role.OFFICE)
    rid = municipality["round"].id
    one, page = _page(client, rid)
    assert first.reference in page
    assert page.index(municipality["facilities"]["pusteblume"].name) < page.index(
        municipality["facilities"]["sonnenschein"].name
    )
    more = [_waiting(municipality, office, d) for d in ("Altstadt", "Südstadt", "Nordstadt")]
    four, page = _page(client, rid)
    assert all(a.reference in page for a in more)
    assert four == one, (one, four)
    rows = offers.waitlist_alternatives(rid)
    assert [a.id for a, _o in rows] == [
        a.id for a in sorted([first, *more], key=lambda a: a.reference)
    ]
    for app, options in rows:
        assert [o.facility.id for o in options] == [
            o.facility.id for o in offers.alternative_facilities(app)
        ]
