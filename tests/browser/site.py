"""Every page of the app for page-wide checks (axe, phone width): who sees it, at which URL.

The list is built from the app's url_map: every GET route without parameters, plus the
detail pages whose parameters a small municipality created through the services can fill
(an application with an open offer, a child, a facility, a round, a rule, an allocation
run). Downloads (PDF, CSV, XLSX, JSON, SVG) and token links are left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Flask

from kita.extensions import db
from kita.models import Role, User
from kita.services import offers
from tests.conftest import PASSWORD, make_user
from tests.services.round_helpers import released_application

#: blueprint -> who visits its pages
ROLE_OF_BLUEPRINT = {
    "public": "anonymous",
    "auth": "anonymous",
    "claim": "anonymous",
    "parents": "parent",
    "office": "office",
    "facility": "facility",
    "admin": "admin",
}
#: pages of the auth blueprint that need a login: visited as parent and as office
LOGGED_IN_AUTH = {"auth.change_password", "auth.two_factor"}
SKIP_ENDPOINTS = {"static", "health.healthz", "public.ping", "auth.login_code"}
DOWNLOAD_SUFFIXES = (".pdf", ".csv", ".xlsx", ".json", ".svg", ".<fmt>")


@dataclass
class Site:
    emails: dict[str, str]  # role -> login
    params: dict[str, dict[str, int]]  # role -> parameter name -> id
    skipped: list[str] = field(default_factory=list)
    password: str = PASSWORD

    def login_email(self, role: str) -> str:
        return self.emails[role]


def build_site(municipality: dict[str, Any]) -> Site:
    """A parent with an offered and a submitted application, office, staff, admin, a run."""
    facs = municipality["facilities"]
    office = make_user(Role.OFFICE, email="office@example.org")
    staff = make_user(Role.FACILITY, email="leitung@example.org", facility=facs["sonnenschein"])
    admin = make_user(Role.ADMIN, email="admin@example.org")
    parent = make_user(Role.PARENT, email="eltern@example.org")
    offered = released_application(
        municipality,
        office,
        ["sonnenschein", "regenbogen"],
        criteria=[("sibling", "sonnenschein"), ("working", None)],
        parent=parent,
    )
    released_application(municipality, office, ["pusteblume", "sonnenschein"], parent=parent)
    offer = offers.make_offer(office, offered, facs["sonnenschein"], wish_rank=1)
    db.session.commit()
    run_id = _finished_run(office, municipality)
    common = {
        "facility_id": facs["sonnenschein"].id,
        "round_id": municipality["round"].id,
        "rule_id": municipality["rules"]["sibling"].id,
    }
    if run_id is not None:
        common["run_id"] = run_id
    app_params = {
        "app_id": offered.id,
        "application_id": offered.id,
        "offer_id": offer.id,
        "child_id": offered.child_id,
    }
    site = Site(
        emails={
            "office": office.email,
            "facility": staff.email,
            "admin": admin.email,
            "parent": parent.email,
        },
        params={
            "parent": {**app_params},
            "office": {**common, **app_params},
            "facility": {**common, **app_params},
            "admin": {**common},
            "anonymous": {},
        },
    )
    # end the test's transaction: on SQLite it would hold the write lock the server needs
    db.session.commit()
    db.session.close()
    return site


def _finished_run(office: User, municipality: dict[str, Any]) -> int | None:
    try:
        from kita.services import allocation_runs
    except ImportError:  # pragma: no cover - before the allocation pages exist
        return None
    run = allocation_runs.start_run(office, municipality["round"], background=False)
    return int(run.id)


def site_pages(app: Flask, site: Site) -> dict[str, list[str]]:
    """role -> paths of the HTML pages that role can open."""
    pages: dict[str, list[str]] = {role: [] for role in set(ROLE_OF_BLUEPRINT.values())}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in (rule.methods or ()) or rule.endpoint in SKIP_ENDPOINTS:
            continue
        if rule.rule.endswith(DOWNLOAD_SUFFIXES) or "fmt" in rule.arguments:
            continue
        blueprint = rule.endpoint.split(".", 1)[0]
        roles = (
            ["parent", "office"]
            if rule.endpoint in LOGGED_IN_AUTH
            else [ROLE_OF_BLUEPRINT.get(blueprint, "anonymous")]
        )
        for role in roles:
            values = site.params.get(role, {})
            if not set(rule.arguments) <= set(values):
                site.skipped.append(f"{rule.rule} ({role})")
                continue
            with app.test_request_context():
                from flask import url_for

                path = url_for(rule.endpoint, **{a: values[a] for a in rule.arguments})
            pages[role].append(path)
    return pages


def login_page(browser: Any, base_url: str, site: Site, role: str, **context: Any) -> Any:
    """A new browser page logged in as ``role`` (anonymous: not logged in)."""
    from tests.browser.conftest import login, new_page

    page = new_page(browser, **context)
    if role != "anonymous":
        login(page, base_url, site.login_email(role), site.password)
        assert "/login" not in page.url, f"{role} could not log in: {page.url}"
    return page
