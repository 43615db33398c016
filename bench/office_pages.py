"""Response times of the office's dashboard and application list at 20,000 applications.

    .venv/bin/python bench/office_pages.py [--applications 20000] [--repeat 20]

Builds a throwaway SQLite database with the bulk generator of the tests, logs in as
an office user through the test client and times each page (median and 90th percentile
of ``--repeat`` requests after one warm-up), next to a trivial endpoint measured in the
same run. Target: under 300 ms for the dashboard and the list. Also prints the number
of SQL queries per page.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402

from kita import create_app  # noqa: E402
from kita.extensions import db  # noqa: E402
from kita.models import Role  # noqa: E402
from tests.conftest import Auth, KitaClient, make_user  # noqa: E402
from tests.office_bulk import generate  # noqa: E402

PAGES = [
    ("dashboard", "/office/"),
    ("list", "/office/applications"),
    (
        "list, filtered + sorted, page 5",
        "/office/applications?status=in_review&district=Nordstadt&sort=name&page=5",
    ),
    ("list, name search", "/office/applications?q=m%C3%BCller"),
    ("demand chart (SVG)", "/office/charts/demand.svg"),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--applications", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite3"
        app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url})
        app.test_client_class = KitaClient
        with app.app_context():
            db.create_all()
            t0 = time.perf_counter()
            generate(args.applications)
            print(f"generated {args.applications} applications in {time.perf_counter() - t0:.1f} s")
            office = make_user(Role.OFFICE, email="bench-office@example.org")
            client = app.test_client()
            assert Auth(client).login(office).status_code == 302
            queries = {"n": 0}

            def count(*_a: object) -> None:
                queries["n"] += 1

            event.listen(db.engine, "before_cursor_execute", count)
            trivial = (
                "/healthz"
                if any(r.rule == "/healthz" for r in app.url_map.iter_rules())
                else "/login"
            )
            rows = []
            for name, path in [(f"trivial ({trivial})", trivial), *PAGES]:
                client.get(path)  # warm-up
                times = []
                for _ in range(args.repeat):
                    queries["n"] = 0
                    t = time.perf_counter()
                    response = client.get(path)
                    times.append((time.perf_counter() - t) * 1000)
                    assert response.status_code == 200, (path, response.status_code)
                times.sort()
                p90 = times[min(len(times) - 1, int(0.9 * len(times)))]
                rows.append((name, statistics.median(times), p90, queries["n"]))
            print(f"{'page':40} {'median ms':>10} {'p90 ms':>8} {'queries':>8}")
            for name, med, p90, n in rows:
                print(f"{name:40} {med:10.1f} {p90:8.1f} {n:8d}")
            event.remove(db.engine, "before_cursor_execute", count)
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
