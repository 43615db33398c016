"""The render cache of the parent's overview (kita.services.overview): a repeat visit is
served from the cache, and every change the page shows is visible on the very next
request, whichever way it was written (ORM, conditional UPDATE of one row, bulk UPDATE).
Per-request parts (flash messages, language) are never cached, and no family ever sees
another family's page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, update

from kita import create_app
from kita.extensions import db
from kita.models import Application, Child, Household, Offer, Role, Round, Status, User
from kita.services import applications, households, offers, overview, privacy, review
from kita.services.applications import ApplicationInput
from kita.services.stations import STATION_LABELS
from tests.conftest import PASSWORD, Auth, KitaClient, make_user, statements_run
from tests.services.round_helpers import office_user, released_application


@pytest.fixture
def counted(app: Flask) -> Iterator[list[str]]:
    with statements_run() as statements:
        yield statements


def main_part(html: str) -> str:
    match = re.search(r"<main[^>]*>(.*)</main>", html, re.S)
    assert match, html[:300]
    return match.group(1)


def visit(client: FlaskClient, statements: list[str] | None = None) -> tuple[str, int]:
    if statements is not None:
        statements.clear()
    response = client.get("/parent/")
    assert response.status_code == 200
    return response.get_data(as_text=True), len(statements or [])


def overview_page(client: FlaskClient) -> str:
    return visit(client)[0]


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, page[:300]
    return match.group(1)


def english(client: FlaskClient) -> None:
    assert client.get("/?lang=en").status_code == 200


def label(status: Status) -> str:
    return str(STATION_LABELS[status]._args[0])  # the English msgid


@pytest.fixture
def family(app: Flask, client: FlaskClient, municipality: dict[str, Any]) -> dict[str, Any]:
    """A parent with one released application, logged in, the page in English."""
    office = office_user()
    parent = make_user(Role.PARENT)
    application = released_application(municipality, office, ["sonnenschein"], parent=parent)
    Auth(client).login(parent)
    english(client)
    return {"parent": parent, "office": office, "application": application}


def test_a_repeat_visit_is_served_from_the_cache(
    app: Flask, client: FlaskClient, family: dict[str, Any], counted: list[str]
) -> None:
    first, cold = visit(client, counted)
    assert family["application"].reference in first
    second, warm = visit(client, counted)
    assert main_part(second) == main_part(first)
    # only the login manager's user query (with the version) and the settings remain
    assert warm < cold, (cold, warm)
    assert not any("FROM application" in s for s in counted), counted
    assert len(app.extensions["kita.overview_cache"]) == 1


def test_a_transition_shows_at_once(
    client: FlaskClient, family: dict[str, Any], municipality: dict[str, Any]
) -> None:
    application: Application = family["application"]
    page, _ = visit(client)
    assert label(Status.RELEASED) in page
    facility = municipality["facilities"]["sonnenschein"]
    offer = offers.make_offer(family["office"], application, facility, wish_rank=1)
    db.session.commit()
    page, _ = visit(client)
    assert label(Status.OFFERED) in page and facility.name in page
    # the family accepts: a conditional UPDATE of the offer row and a transition
    offers.accept(family["parent"], offer)
    page, _ = visit(client)
    assert label(Status.ACCEPTED) in page and label(Status.OFFERED) not in page


def test_an_expired_offer_disappears_at_once(
    client: FlaskClient, family: dict[str, Any], municipality: dict[str, Any]
) -> None:
    facility = municipality["facilities"]["sonnenschein"]
    offers.make_offer(family["office"], family["application"], facility, wish_rank=1)
    db.session.commit()
    page, _ = visit(client)
    assert facility.name in page
    assert offers.expire_due(now=offers.utcnow() + timedelta(days=60)) == 1
    page, _ = visit(client)
    assert label(Status.EXPIRED) in page and facility.name not in main_part(page)


def test_children_household_and_applications_show_at_once(
    client: FlaskClient, municipality: dict[str, Any]
) -> None:
    parent = make_user(Role.PARENT)
    Auth(client).login(parent)
    english(client)
    page, _ = visit(client)
    assert "You have not added a child yet." in page
    assert "Please enter your household first" in page
    household = households.household_for(parent)
    child = households.add_child(
        parent, household, first_name="Mila", last_name="Muster", birth_date=date(2025, 3, 1)
    )
    page, _ = visit(client)
    assert "Mila Muster" in page and "No application yet." in page
    households.update_household(
        parent,
        household,
        first_name="Eva",
        last_name="Muster",
        street="Weg 1",
        postal_code="12345",
        city="Musterstadt",
    )
    page, _ = visit(client)
    assert "Please enter your household first" not in page
    households.update_child(
        parent, child, first_name="Milena", last_name="Muster", birth_date=child.birth_date
    )
    page, _ = visit(client)
    assert "Milena Muster" in page and "Mila Muster" not in page
    f = municipality["facilities"]
    application = applications.create(
        parent,
        child,
        municipality["round"],
        applications.ApplicationInput(
            child_id=child.id,
            round_id=municipality["round"].id,
            start_date=municipality["round"].care_start_from + timedelta(days=1),
            care_type="krippe",
            weekly_hours=30,
            wishes=[f["sonnenschein"].id],
        ),
        submit=False,
    )
    page, _ = visit(client)
    assert application.reference in page and label(Status.DRAFT) in page
    applications.transition(application, "submit", parent)
    page, _ = visit(client)
    assert label(Status.SUBMITTED) in page and label(Status.DRAFT) not in page


def test_round_and_facility_names_show_at_once(
    client: FlaskClient, family: dict[str, Any], municipality: dict[str, Any]
) -> None:
    facility = municipality["facilities"]["sonnenschein"]
    offers.make_offer(family["office"], family["application"], facility, wish_rank=1)
    db.session.commit()
    page, _ = visit(client)
    assert "Kita-Jahr Test" in page and "Kita Sonnenschein" in page
    round_: Round = municipality["round"]
    round_.name = "Kita-Jahr Umbenannt"
    db.session.commit()
    page, _ = visit(client)
    assert "Kita-Jahr Umbenannt" in page
    facility.name = "Kita Sonnenblume"
    db.session.commit()
    page, _ = visit(client)
    assert "Kita Sonnenblume" in page and "Kita Sonnenschein" not in page


def test_a_bulk_update_without_named_rows_shows_at_once(
    client: FlaskClient, family: dict[str, Any], municipality: dict[str, Any]
) -> None:
    page, _ = visit(client)
    new_start = municipality["round"].care_start_from + timedelta(days=40)
    assert new_start.isoformat() not in page
    db.session.execute(
        update(Application)
        .where(Application.round_id == municipality["round"].id)
        .values(start_date=new_start)
    )
    db.session.commit()
    page, _ = visit(client)
    assert new_start.isoformat() in page  # English dates are yyyy-mm-dd


def test_versions_rise_only_for_the_family_concerned(
    family: dict[str, Any], municipality: dict[str, Any]
) -> None:
    other = make_user(Role.PARENT)
    released_application(municipality, family["office"], ["regenbogen"], parent=other)

    def version(user: User) -> int:
        db.session.expire_all()
        return households.household_for(user).overview_version

    mine, theirs = version(family["parent"]), version(other)
    applications.transition(family["application"], "waitlist", family["office"])
    assert version(family["parent"]) > mine
    assert version(other) == theirs
    db.session.execute(update(Offer).where(Offer.id == -1).values(status="expired"))
    db.session.execute(update(Household).where(Household.id == -1).values(phone="1"))
    db.session.commit()
    assert version(other) == theirs  # statements that change nothing raise nothing


def test_deleting_an_account_leaves_other_families_pages_alone(
    family: dict[str, Any], municipality: dict[str, Any]
) -> None:
    """Deleting a family's account and records raises no other family's version (their
    cached pages stay valid)."""
    leaving = make_user(Role.PARENT)
    application = released_application(
        municipality, family["office"], ["regenbogen"], parent=leaving
    )
    facility = municipality["facilities"]["regenbogen"]
    offers.make_offer(family["office"], application, facility, wish_rank=1)
    # another family registered the same child; the office merged theirs into this one
    registered_twice = make_user(Role.PARENT)
    same = application.child
    child = households.add_child(
        registered_twice,
        households.household_for(registered_twice),
        first_name=same.first_name,
        last_name=same.last_name,
        birth_date=same.birth_date,
    )
    data = ApplicationInput(
        child_id=child.id,
        round_id=application.round_id,
        start_date=application.start_date,
        care_type=application.care_type,
        weekly_hours=30,
        wishes=[facility.id],
        criteria=[],
    )
    duplicate = applications.create(
        registered_twice, child, municipality["round"], data, submit=True
    )
    applications.transition(duplicate, "start_review", family["office"])
    review.merge(family["office"], duplicate, application, None)
    db.session.commit()

    def version(user: User) -> int:
        db.session.expire_all()
        return households.household_for(user).overview_version

    theirs, twice = version(family["parent"]), version(registered_twice)
    privacy.delete_account(leaving)
    assert version(family["parent"]) == theirs
    assert version(registered_twice) > twice  # its application no longer points anywhere
    assert db.session.get(Application, duplicate.id).merged_into_id is None
    assert db.session.get(User, leaving.id) is None


def test_no_family_sees_another_familys_page(app: Flask, municipality: dict[str, Any]) -> None:
    office = office_user()
    pages = []
    for _ in range(2):
        parent = make_user(Role.PARENT)
        application = released_application(municipality, office, ["sonnenschein"], parent=parent)
        client = app.test_client()
        Auth(client).login(parent)
        first, _ = visit(client)
        again, _ = visit(client)
        version = households.household_for(parent).overview_version
        pages.append((application.reference, first, again, version))
    (ref_a, a1, a2, version_a), (ref_b, b1, b2, version_b) = pages
    assert version_a == version_b  # the same story: only the user tells the pages apart
    assert ref_a in a1 and ref_a in a2 and ref_b not in a2
    assert ref_b in b1 and ref_b in b2 and ref_a not in b2


def test_flash_messages_and_language_are_not_cached(
    client: FlaskClient, family: dict[str, Any]
) -> None:
    page, _ = visit(client)
    assert "My applications" in page
    with client.session_transaction() as session:
        session["_flashes"] = [("success", "Gespeichert, danke.")]
    page, _ = visit(client)
    assert "Gespeichert, danke." in page and family["application"].reference in page
    page, _ = visit(client)
    assert "Gespeichert, danke." not in page
    german = client.get("/parent/?lang=de").get_data(as_text=True)
    assert "Meine Anträge" in german and "My applications" not in main_part(german)
    english(client)
    page, _ = visit(client)
    assert "My applications" in main_part(page)


def test_the_current_round_follows_the_date(app: Flask, client: FlaskClient) -> None:
    today = date.today()
    for name, deadline in (("Runde Heute", today), ("Runde Später", today + timedelta(days=90))):
        db.session.add(
            Round(
                name=name,
                care_start_from=today + timedelta(days=120),
                care_start_to=today + timedelta(days=400),
                application_deadline=deadline,
            )
        )
    db.session.commit()
    parent = make_user(Role.PARENT)
    with time_machine.travel(datetime.combine(today, time(20, 0)), tick=False) as clock:
        Auth(client).login(parent)
        page, _ = visit(client)
        assert "Runde Heute" in page
        clock.move_to(datetime.combine(today + timedelta(days=1), time(2, 0)))
        page, _ = visit(client)
    assert "Runde Später" in page and "Runde Heute" not in page


def test_a_cached_page_carries_this_sessions_csrf_token(
    app: Flask, database_url: str, municipality: dict[str, Any]
) -> None:
    """With CSRF protection on: the logout form of a page from the cache works, and the
    stand-ins of the cached page never reach the browser."""
    secured = create_app(
        {"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": database_url, "WTF_CSRF_ENABLED": True}
    )
    secured.test_client_class = KitaClient
    parent = make_user(Role.PARENT)
    client = secured.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login",
        data={"email": parent.email, "password": PASSWORD, "csrf_token": csrf_of(login_page)},
    )
    assert response.status_code == 302
    first = client.get("/parent/").get_data(as_text=True)
    cached = client.get("/parent/").get_data(as_text=True)
    assert len(secured.extensions["kita.overview_cache"]) == 1
    for page in (first, cached):
        assert overview.CSRF_STAND_IN not in page and overview.NONCE_STAND_IN not in page
    token = csrf_of(cached)
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 400
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/parent/").status_code == 302  # logged out
    with secured.app_context():
        db.engine.dispose()


def test_another_users_cached_page_is_never_served_after_a_new_login(
    app: Flask, municipality: dict[str, Any]
) -> None:
    """The same browser, one family logs out, another logs in: its own page."""
    office = office_user()
    a = make_user(Role.PARENT)
    b = make_user(Role.PARENT)
    ref_a = released_application(municipality, office, ["sonnenschein"], parent=a).reference
    ref_b = released_application(municipality, office, ["sonnenschein"], parent=b).reference
    client = app.test_client()
    Auth(client).login(a)
    assert ref_a in overview_page(client)
    assert ref_a in overview_page(client)
    client.post("/logout")
    Auth(client).login(b)
    page = overview_page(client)
    assert ref_b in page and ref_a not in page


def test_the_cache_can_be_switched_off(
    app: Flask, database_url: str, family: dict[str, Any]
) -> None:
    uncached = create_app(
        {"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": database_url, "OVERVIEW_CACHE_SIZE": 0}
    )
    uncached.test_client_class = KitaClient
    statements: list[str] = []
    with uncached.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", lambda c, cur, sql, *a: statements.append(sql))
    client = uncached.test_client()
    Auth(client).login(family["parent"])
    for _ in range(2):
        statements.clear()
        page, _count = visit(client)
        assert family["application"].reference in page
        assert any("FROM application" in s for s in statements), statements
    assert len(uncached.extensions["kita.overview_cache"]) == 0
    engine.dispose()


def test_many_rows_in_one_flush_raise_every_version_in_chunks(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(overview, "_CHUNK", 2)
    families = []
    for n in range(5):
        household = households.household_for(make_user(Role.PARENT))
        household.children.append(
            Child(first_name=f"Kind{n}", last_name="Viele", birth_date=date(2024, 1, 1))
        )
        families.append(household)
    db.session.commit()
    before = [h.overview_version for h in families]
    for household in families:  # five children of five families, renamed in one flush
        household.children[0].last_name = "Umbenannt"
    db.session.commit()
    for household in families:
        db.session.refresh(household)
    assert all(h.overview_version > v for h, v in zip(families, before, strict=True))


def test_a_new_account_never_gets_a_deleted_accounts_page(app: Flask, client: FlaskClient) -> None:
    """SQLite gives the ids of a deleted account (user, household) to the next one, and
    the new household's version may equal the old one's: still the new family's page."""

    def family(email: str, child: str) -> User:
        parent = make_user(Role.PARENT, email=email)
        household = households.household_for(parent)
        households.add_child(
            parent, household, first_name=child, last_name="Muster", birth_date=date(2025, 1, 1)
        )
        return parent

    first = family("erste@example.org", "Anna")
    first_ids = (first.id, households.household_for(first).id)
    Auth(client).login(first)
    assert "Anna Muster" in visit(client)[0]
    assert "Anna Muster" in visit(client)[0]  # cached
    client.post("/logout")
    privacy.delete_account(first)
    second = family("zweite@example.org", "Bert")
    Auth(client).login(second)
    page, _ = visit(client)
    assert "Bert Muster" in page and "Anna Muster" not in page
    if db.engine.dialect.name == "sqlite":  # the case this guards against did happen
        assert (second.id, households.household_for(second).id) == first_ids
