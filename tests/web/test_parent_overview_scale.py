"""The parent's overview costs the same number of SQL queries for a family with one
child and one application as for a family with many children, applications and open
offers: rendered anew (cache miss) and served from the render cache (hit)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import event

from kita.extensions import db
from kita.models import Role, User
from kita.services import offers
from tests.conftest import Auth, make_user
from tests.services.round_helpers import office_user, released_application


def _family(municipality: dict[str, Any], office: User, pairs: int) -> tuple[User, list[str]]:
    """A family with ``2 * pairs`` children, one application each; half of them hold an
    open offer."""
    parent = make_user(Role.PARENT)
    references = []
    for _ in range(pairs):
        offered = released_application(municipality, office, ["sonnenschein"], parent=parent)
        offers.make_offer(office, offered, municipality["facilities"]["sonnenschein"], wish_rank=1)
        db.session.commit()
        waiting = released_application(municipality, office, ["regenbogen"], parent=parent)
        references += [offered.reference, waiting.reference]
    return parent, references


def _queries(app: Flask, parent: User) -> tuple[int, int, str]:
    """Queries of the first (miss) and the second (hit) visit of a fresh login."""
    client = app.test_client()
    Auth(client).login(parent)
    counts = []
    page = ""
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    for _ in range(2):
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            response = client.get("/parent/")
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        # SQLite's BEGIN IMMEDIATE (kita/__init__.py) is not a query of the page
        counts.append(sum(1 for s in statements if s.lstrip().upper().startswith("SELECT")))
    return counts[0], counts[1], page


def test_overview_queries_do_not_grow_with_children_and_applications(
    app: Flask, municipality: dict[str, Any]
) -> None:
    office = office_user()
    small, small_refs = _family(municipality, office, pairs=1)
    large, large_refs = _family(municipality, office, pairs=6)
    small_miss, small_hit, small_page = _queries(app, small)
    large_miss, large_hit, large_page = _queries(app, large)
    assert all(ref in small_page for ref in small_refs)
    assert all(ref in large_page for ref in large_refs) and len(large_refs) == 12
    assert large_page.count("Kita Sonnenschein") >= 6  # the open offers with their facility
    assert (large_miss, large_hit) == (small_miss, small_hit)
    assert small_hit < small_miss
    # the miss: user (with the overview version), household, applications with offers,
    # round, settings (not cached in the tests); the hit: user and settings
    assert small_miss <= 5 and small_hit <= 2, (small_miss, small_hit)
