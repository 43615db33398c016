"""Parent A never reads, edits, withdraws or answers anything of parent B; bad input is refused."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from kita.errors import Conflict, InvalidTransition
from kita.extensions import db
from kita.models import (
    Application,
    ApplicationCriterion,
    AuditEvent,
    Child,
    Offer,
    OfferStatus,
    OutboxMail,
    Role,
    Status,
    StatusEvent,
    User,
    Wish,
    utcnow,
)
from kita.services import applications as apps
from kita.services import households, offers
from tests.conftest import make_user
from tests.web.test_parents import _child, _file, _form


def _count(model: Any) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def foreign(municipality: Any) -> dict[str, Any]:
    """Parent B with a child, an application in Rückfrage and an open offer on another."""
    b = make_user(Role.PARENT, email="b@example.org")
    child = _child(b, "Bruno", last="Fremd")
    application = _file(b, child, municipality)
    office = make_user(Role.OFFICE)
    apps.transition(application, "start_review", office)
    apps.transition(application, "ask_back", office, message="Frage an B")
    twin = households.add_child(
        b,
        households.household_for(b),
        first_name="Berta",
        last_name="Fremd",
        birth_date=child.birth_date,
    )
    offered = _file(b, twin, municipality)
    for action in ("start_review", "release", "offer"):
        apps.transition(offered, action, office)
    offer = Offer(
        application_id=offered.id,
        facility_id=offered.wishes[0].facility_id,
        care_type=offered.care_type,
        wish_rank=1,
        deadline=utcnow() + timedelta(days=10),
    )
    db.session.add(offer)
    db.session.commit()
    return {"child": child, "app": application, "offered": offered, "offer": offer}


def test_parent_a_gets_404_for_everything_of_parent_b(
    client: Any, login_as: Any, municipality: Any, foreign: dict[str, Any]
) -> None:
    a = login_as(Role.PARENT)
    own_child = _child(a, "Anton")
    app_id, child_id = foreign["app"].id, foreign["child"].id
    offered_id, offer_id = foreign["offered"].id, foreign["offer"].id
    gets = [
        f"/parent/applications/{app_id}",
        f"/parent/applications/{app_id}/edit",
        f"/parent/applications/{app_id}/withdraw",
        f"/parent/children/{child_id}/edit",
        f"/parent/applications/new?child={child_id}",
        f"/parent/applications/{offered_id}/offers/{offer_id}/decline",
    ]
    for url in gets:
        assert client.get(url).status_code == 404, url
    posts = [
        (f"/parent/applications/{app_id}/edit", _form(municipality, foreign["child"])),
        (f"/parent/applications/{app_id}/withdraw", {"message": "weg"}),
        (f"/parent/applications/{app_id}/answer", {"message": "Antwort von A"}),
        (f"/parent/applications/{app_id}/submit", {}),
        (
            f"/parent/children/{child_id}/edit",
            {"first_name": "X", "last_name": "Y", "birth_date": "2024-01-01"},
        ),
        (f"/parent/applications/{offered_id}/offers/{offer_id}/accept", {}),
        (f"/parent/applications/{offered_id}/offers/{offer_id}/decline", {}),
        # B's child in A's form fields
        ("/parent/applications/new", _form(municipality, foreign["child"])),
        ("/parent/applications/new", _form(municipality, own_child, siblings=[str(child_id)])),
    ]
    for url, data in posts:
        assert client.post(url, data=data).status_code == 404, url
    # A's own application id with B's offer id
    own = _file(a, own_child, municipality)
    r = client.post(f"/parent/applications/{own.id}/offers/{offer_id}/accept")
    assert r.status_code == 404
    # nothing of B changed
    db.session.expire_all()
    assert db.session.get(Application, app_id).status == Status.QUERY
    assert db.session.get(Application, offered_id).status == Status.OFFERED
    assert db.session.get(Offer, offer_id).status == OfferStatus.OPEN
    assert db.session.get(Child, child_id).first_name == "Bruno"
    assert _count(Application) == 3
    page = client.get("/parent/").get_data(as_text=True)
    assert "Bruno" not in page and foreign["app"].reference not in page
    data = client.get("/parent/data.json").get_data(as_text=True)
    assert "Bruno" not in data and "Fremd" not in data
    denied = db.session.scalar(
        select(func.count()).where(
            AuditEvent.action == "access.denied", AuditEvent.actor_id == a.id
        )
    )
    assert denied and denied >= len(gets)


def _nothing_saved() -> None:
    assert _count(Application) == 0
    assert _count(Wish) == 0
    assert _count(ApplicationCriterion) == 0
    assert _count(StatusEvent) == 0
    assert _count(OutboxMail) == 0


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"start_date": "past"}, "start_date", "nicht in der Vergangenheit"),
        ({"start_date": "late"}, "start_date", "Diese Vergaberunde umfasst"),
        ({"wish_1": "999999"}, "wish_1", "Bitte wählen Sie eine Einrichtung aus der Liste"),
        ({"wish_2": "same"}, "wish_1", "nur einmal gewählt"),
        ({"wish_1": "", "wish_2": "", "wish_3": ""}, "wish_1", "mindestens Ihren ersten Wunsch"),
        ({"wish_2": "hort-facility"}, "wish_2", "bietet diese Betreuungsart nicht an"),
        ({"weekly_hours": "61"}, "weekly_hours", "zwischen 1 und 60"),
        ({"weekly_hours": "0"}, "weekly_hours", "zwischen 1 und 60"),
        ({"weekly_hours": "15"}, "weekly_hours", "20 bis 45 Stunden"),
        ({"weekly_hours": "viele"}, "weekly_hours", ""),
        ({"care_type": "hort"}, "care_type", "passt nicht zum Alter"),
        ({"care_type": "luxus"}, "care_type", "Bitte wählen Sie eine Betreuungsart"),
        ({"remarks": "x" * 10_240}, "remarks", "höchstens 2000 Zeichen"),
        ({"crit_RULE": "7"}, "", "muss sich auf einen Ihrer Wünsche beziehen"),
        ({"crit_999999": "1"}, "", "Unbekanntes Kriterium"),
    ],
)
def test_bad_application_input(
    client: Any,
    login_as: Any,
    municipality: Any,
    change: dict[str, str],
    field: str,
    message: str,
) -> None:
    user = login_as(Role.PARENT)
    child = _child(user)
    round_ = municipality["round"]
    facs = municipality["facilities"]
    data = _form(municipality, child)
    for key, value in change.items():
        if value == "past":
            value = (date.today() - timedelta(days=1)).isoformat()
        elif value == "late":
            value = (round_.care_start_to + timedelta(days=1)).isoformat()
        elif value == "same":
            value = str(data["wish_1"])
        elif value == "hort-facility":
            value = str(facs["schlosspark"].id)
        if key == "crit_RULE":
            key = f"crit_{municipality['rules']['sibling'].id}"
        data[key] = value
    r = client.post("/parent/applications/new", data=data)
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert 'id="error-summary"' in page
    if message:
        assert message in page, page[page.find("error-summary") : page.find("error-summary") + 800]
    if field:
        assert f'id="{field}-error"' in page
    _nothing_saved()


def test_newborn_in_hort_is_refused_by_the_service(login_as: Any, municipality: Any) -> None:
    user = login_as(Role.PARENT)
    child = _child(user, birth=date.today() - timedelta(days=10))
    data = apps.ApplicationInput(
        child_id=child.id,
        round_id=municipality["round"].id,
        start_date=municipality["round"].care_start_from,
        care_type="hort",
        weekly_hours=15,
        wishes=[municipality["facilities"]["schlosspark"].id],
    )
    from kita.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as err:
        apps.create(user, child, municipality["round"], data)
    assert "care_type" in err.value.errors
    db.session.rollback()
    _nothing_saved()


def test_tampered_child_on_edit_and_siblings_all_or_nothing(
    client: Any, login_as: Any, municipality: Any
) -> None:
    user = login_as(Role.PARENT)
    child = _child(user, "Ida")
    other = households.add_child(
        user,
        households.household_for(user),
        first_name="Ole",
        last_name="Muster",
        birth_date=date.today() - timedelta(days=9 * 365),  # school child: no Krippe
    )
    application = _file(user, child, municipality)
    data = _form(municipality, child, child_id=str(other.id))
    r = client.post(f"/parent/applications/{application.id}/edit", data=data)
    assert r.status_code == 422
    db.session.expire_all()
    assert db.session.get(Application, application.id).child_id == child.id
    # siblings in one go: Ole cannot get Krippe, so neither application is saved
    third = households.add_child(
        user,
        households.household_for(user),
        first_name="Pia",
        last_name="Muster",
        birth_date=child.birth_date,
    )
    before = _count(Application)
    r = client.post(
        "/parent/applications/new",
        data=_form(municipality, third, siblings=[str(other.id)], place_together="y"),
    )
    assert r.status_code == 422 and "Ole:" in r.get_data(as_text=True)
    assert _count(Application) == before


def test_offer_accepted_twice_at_once_gives_exactly_one_acceptance(
    app: Any, login_as: Any, municipality: Any
) -> None:
    user = make_user(Role.PARENT, email="race@example.org")
    application = _file(user, _child(user), municipality)
    office = make_user(Role.OFFICE)
    for action in ("start_review", "release", "offer"):
        apps.transition(application, action, office)
    offer = Offer(
        application_id=application.id,
        facility_id=application.wishes[0].facility_id,
        care_type=application.care_type,
        wish_rank=1,
        deadline=utcnow() + timedelta(days=10),
    )
    db.session.add(offer)
    db.session.commit()
    offer_id, user_id, app_id = offer.id, user.id, application.id
    db.session.remove()

    barrier = threading.Barrier(2)
    results: list[str] = []

    def click() -> None:
        with app.app_context():
            barrier.wait(timeout=10)
            try:
                actor = db.session.get(User, user_id)
                target = db.session.get(Offer, offer_id)
                assert actor is not None and target is not None
                offers.accept(actor, target)
                results.append("ok")
            except (Conflict, InvalidTransition):
                results.append("conflict")
            except Exception as exc:  # noqa: BLE001 - reported below
                results.append(f"error {type(exc).__name__}: {exc}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results) == ["conflict", "ok"], results
    accepted = db.session.scalar(
        select(func.count()).where(
            StatusEvent.application_id == app_id, StatusEvent.action == "accept"
        )
    )
    assert accepted == 1
    assert db.session.get(Offer, offer_id).status == OfferStatus.ACCEPTED
    assert db.session.get(Application, app_id).status == Status.ACCEPTED
