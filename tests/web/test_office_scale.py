"""The office's dashboard and list on a generated municipality of 20,000 applications:
the number of SQL queries per page is bounded and does not grow with the applications."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from kita import create_app
from kita.extensions import db
from kita.models import Role, Status
from kita.services import facilities, statistics
from tests.conftest import KitaClient, make_user
from tests.office_bulk import generate

PAGES = (
    "/office/",
    "/office/applications",
    "/office/applications?status=in_review&sort=name&order=desc&page=3",
    "/office/applications?q=KV-B-0001",
    "/office/applications?district=Nordstadt&care_type=krippe",
)
MAX_QUERIES = 20


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *args: Any) -> None:
        self.count += 1


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    path = tmp_path_factory.mktemp("scale") / "scale.sqlite3"
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    app.test_client_class = KitaClient
    with app.app_context():
        db.create_all()
        generate(200, seed=1)
        office = make_user(Role.OFFICE, email="office-scale@example.org")
        client = app.test_client()
        from tests.conftest import Auth

        assert Auth(client).login(office).status_code == 302
        counter = QueryCounter()
        event.listen(db.engine, "before_cursor_execute", counter)

        def measure() -> dict[str, int]:
            counts = {}
            for url in PAGES:
                counter.count = 0
                response = client.get(url)
                assert response.status_code == 200, url
                counts[url] = counter.count
            return counts

        small = measure()
        generate(19_800, seed=2)
        large = measure()
        yield {"app": app, "client": client, "small": small, "large": large}
        event.remove(db.engine, "before_cursor_execute", counter)
        db.session.remove()
        db.engine.dispose()


def test_page_queries_bounded_and_independent_of_size(big: dict[str, Any]) -> None:
    for url in PAGES:
        assert big["large"][url] == big["small"][url], (url, big["small"], big["large"])
        assert big["large"][url] <= MAX_QUERIES, (url, big["large"][url])


def test_dashboard_figures_on_20000(big: dict[str, Any]) -> None:
    app: Flask = big["app"]
    with app.app_context():
        round_ = facilities.open_round()
        data = statistics.dashboard(round_)
        # 5 % drafts are not counted
        assert data.total == 20_000 - sum(1 for i in range(1, 20_001) if _status(i) == Status.DRAFT)
        assert data.by_status[Status.RELEASED] == sum(
            1 for i in range(1, 20_001) if _status(i) == Status.RELEASED
        )
        assert len(data.waiting) == 10
        rows = statistics.demand_vs_places(round_)
        excluded = {Status.DRAFT, Status.REJECTED, Status.WITHDRAWN}
        assert sum(r.demand for r in rows) == sum(
            1 for i in range(1, 20_001) if _status(i) not in excluded
        )
        assert sum(r.places for r in rows) == 40 * 2 * 120
        svg = statistics.demand_chart_svg(rows)
        assert svg.startswith(b"<?xml") and b"<svg" in svg
    html = big["client"].get("/office/").get_data(as_text=True)
    assert "Nordstadt" in html and "Bedarf" in html


def test_service_figures_on_20000(big: dict[str, Any]) -> None:
    with big["app"].app_context():
        groups = statistics.service_figures()
        whole = next(g for g in groups if g.label == "Kita-Jahr Bulk")
        assert whole.applications == sum(1 for i in range(1, 20_001) if _status(i) != Status.DRAFT)
        review = whole.durations["review"]
        assert review.median == 3.0 and review.p90 == 5.0
        assert whole.durations["release"].median == 10.0
        assert whole.office == sum(
            1 for i in range(1, 20_001) if _status(i) != Status.DRAFT and i % 10 == 0
        )
        months = [g for g in groups if g.label.startswith("Kita-Jahr Bulk ·")]
        assert sum(g.applications for g in months) == whole.applications
        text = statistics.service_figures_csv(groups)
        cells = [c for line in text.splitlines()[1:] for c in line.split(";")[1:] if c]
        for c in cells:
            if c.isdigit():
                assert int(c) >= statistics.MIN_CELL


def _status(i: int) -> Status:
    from tests.office_bulk import MIX

    statuses = [s for s, w in MIX for _ in range(w)]
    return statuses[i % len(statuses)]
