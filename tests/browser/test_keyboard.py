"""Keyboard only: a parent tabs through the application form, fills it and submits it."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from kita.extensions import db
from kita.models import Application, Role, Status
from kita.services import households
from tests.browser.conftest import LiveServer, type_date
from tests.conftest import PASSWORD, make_user

MAX_TABS = 80


def tab_to(page: Any, selector: str, visited: list[str]) -> None:
    """Press Tab until the element matching ``selector`` has the focus (as a person would)."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const e = document.activeElement;"
            " return (e.id || e.name || e.tagName) + '|' + e.tagName; }"
        )
        visited.append(focused)
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} not reached by Tab; focus went through {visited[-20:]}")


def choose(page: Any, value: str) -> None:
    """Move the focused <select> to ``value`` with the arrow keys."""
    for key in ("Home", *["ArrowDown"] * 15):
        if key == "Home":
            page.keyboard.press("Home")
        if page.evaluate("() => document.activeElement.value") == value:
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"option {value} not reachable by keyboard")


def test_application_form_by_keyboard_only(
    live_server: LiveServer, page: Any, municipality: dict[str, Any], shot: Any
) -> None:
    parent = make_user(Role.PARENT, email="tastatur@example.org")
    household = households.household_for(parent)
    households.update_household(
        parent,
        household,
        first_name="Tanja",
        last_name="Tastatur",
        street="Lindenweg 3",
        postal_code="12345",
        city="Musterstadt",
    )
    start = municipality["round"].care_start_from + timedelta(days=10)
    child = households.add_child(
        parent,
        household,
        first_name="Till",
        last_name="Tastatur",
        birth_date=start - timedelta(days=500),
    )
    facility = municipality["facilities"]["pusteblume"]
    working = municipality["rules"]["working"]
    child_id, facility_id, rule_id = child.id, facility.id, working.id
    db.session.commit()
    db.session.close()

    base = live_server.url
    visited: list[str] = []
    page.goto(base + "/login")
    # the skip link comes first, then the header: log in by keyboard too
    tab_to(page, "#email", visited)
    page.keyboard.type("tastatur@example.org")
    tab_to(page, "#password", visited)
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(base + "/parent/")

    page.goto(base + "/parent/applications/new")
    visited.clear()
    tab_to(page, "#child_id", visited)
    assert page.evaluate("() => document.activeElement.value") == str(child_id)
    tab_to(page, "#start_date", visited)
    type_date(page, start)
    assert page.input_value("#start_date") == start.isoformat()
    tab_to(page, "#care_type", visited)
    choose(page, "krippe")
    tab_to(page, "#weekly_hours", visited)
    page.keyboard.type("30")
    tab_to(page, "#wish_1", visited)
    choose(page, str(facility_id))
    tab_to(page, f"#crit_{rule_id}", visited)
    page.keyboard.press("Space")
    assert page.is_checked(f"#crit_{rule_id}")
    tab_to(page, "#remarks", visited)
    page.keyboard.type("Bitte möglichst nah an der Arbeit – danke!")
    shot(page, "filled-by-keyboard")
    tab_to(page, "button[name=submit_application], input[name=submit_application]", visited)
    page.keyboard.press("Enter")
    # the form posts, then redirects to the application's page: wait for that page, not for
    # the load state of the form's own (already loaded) document
    page.wait_for_url(re.compile(r"/parent/applications/\d+$"))
    shot(page, "after-submit")

    application = db.session.scalar(select(Application).where(Application.child_id == child_id))
    assert application is not None, page.content()[:2000]
    assert application.status == Status.SUBMITTED
    assert application.start_date == start and application.weekly_hours == 30
    assert application.facility_ids[:1] == [facility_id]
    assert [c.rule_id for c in application.criteria] == [rule_id]
    assert application.remarks == "Bitte möglichst nah an der Arbeit – danke!"
    assert application.reference in page.content()
    db.session.close()
