"""The parents' portal through the test client: household, children, applications, offers."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select

from kita.extensions import db
from kita.models import (
    AllocationRun,
    Application,
    AuditEvent,
    CareType,
    Child,
    Offer,
    OfferStatus,
    OutboxMail,
    Role,
    Status,
    User,
    Wish,
    utcnow,
)
from kita.services import applications as apps
from kita.services import households


def _child(
    user: User, first: str = "Mia", birth: date | None = None, last: str = "Muster"
) -> Child:
    hh = households.household_for(user)
    households.update_household(
        user,
        hh,
        first_name="Anna",
        last_name=last,
        street="Hauptstraße 1",
        postal_code="68526",
        city="Ladenburg",
    )
    return households.add_child(
        user, hh, first_name=first, last_name=last, birth_date=birth or _krippe_birth()
    )


def _krippe_birth() -> date:
    return date.today() - timedelta(days=365)


def _form(municipality: dict[str, Any], child: Child, **over: Any) -> dict[str, Any]:
    f = municipality["facilities"]
    data = {
        "child_id": child.id,
        "start_date": (municipality["round"].care_start_from + timedelta(days=1)).isoformat(),
        "care_type": "krippe",
        "weekly_hours": "35",
        "wish_1": f["sonnenschein"].id,
        "wish_2": f["regenbogen"].id,
        "wish_3": f["pusteblume"].id,
        "wish_4": "",
        "wish_5": "",
        "remarks": "",
        "submit_application": "Antrag absenden",
    }
    data.update(over)
    return data


def _file(
    user: User, child: Child, municipality: dict[str, Any], submit: bool = True
) -> Application:
    f = municipality["facilities"]
    data = apps.ApplicationInput(
        child_id=child.id,
        round_id=municipality["round"].id,
        start_date=municipality["round"].care_start_from + timedelta(days=1),
        care_type="krippe",
        weekly_hours=30,
        wishes=[f["sonnenschein"].id, f["regenbogen"].id],
    )
    return apps.create(user, child, municipality["round"], data, submit=submit)


def _count(model: Any) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def test_overview_labels_and_cards(client: Any, login_as: Any, municipality: Any) -> None:
    user = login_as(Role.PARENT)
    child = _child(user)
    application = _file(user, child, municipality)
    page = client.get("/parent/").get_data(as_text=True)
    assert "<h1>Meine Anträge</h1>" in page
    assert application.reference in page
    assert "Eingegangen" in page
    assert "Die Koordinierungsstelle wird Ihren Antrag prüfen." in page or "prüf" in page


def test_household_and_children_with_unicode_names(
    client: Any, login_as: Any, municipality: Any
) -> None:
    user = login_as(Role.PARENT)
    page = client.get("/parent/household").get_data(as_text=True)
    for label in ("Vorname", "Nachname", "Straße und Hausnummer", "Postleitzahl", "Ort", "Telefon"):
        assert f">{label}</label>" in page
    response = client.post(
        "/parent/household",
        data={
            "first_name": "Zoë-Sophie",
            "last_name": "Müller-Lüdenscheidt",
            "street": "Schloßstraße 3a",
            "postal_code": "68526",
            "city": "Ladenburg",
            "phone": "06203 1234",
        },
    )
    assert response.status_code == 302
    page = client.get("/parent/children/new").get_data(as_text=True)
    for label in ("Vorname des Kindes", "Nachname des Kindes", "Geburtsdatum"):
        assert f">{label}</label>" in page
    twin_birth = (date.today() - timedelta(days=500)).isoformat()
    for first in ("Søren-Émile", "Ænne"):
        r = client.post(
            "/parent/children/new",
            data={
                "first_name": first,
                "last_name": "Müller-Lüdenscheidt",
                "birth_date": twin_birth,
            },
        )
        assert r.status_code == 302
    children = db.session.scalars(select(Child).order_by(Child.id)).all()
    assert [c.first_name for c in children] == ["Søren-Émile", "Ænne"]
    assert all(c.last_name == "Müller-Lüdenscheidt" for c in children)
    page = client.get("/parent/household").get_data(as_text=True)
    assert "Søren-Émile" in page and "1 Jahre, 4 Monate" in page
    hh = households.household_for(user)
    assert hh.guardians[0].first_name == "Zoë-Sophie" and hh.street == "Schloßstraße 3a"
    # bad input: field messages, nothing saved
    r = client.post(
        "/parent/children/new", data={"first_name": "", "last_name": "X", "birth_date": ""}
    )
    assert r.status_code == 422
    future = (date.today() + timedelta(days=3)).isoformat()
    r = client.post(
        "/parent/children/new", data={"first_name": "A", "last_name": "B", "birth_date": future}
    )
    assert r.status_code == 422 and "darf nicht in der Zukunft liegen" in r.get_data(as_text=True)
    assert _count(Child) == 2


def test_application_form_labels_and_preselected_care_type(
    client: Any, login_as: Any, municipality: Any
) -> None:
    user = login_as(Role.PARENT)
    child = _child(user, birth=date.today() - timedelta(days=4 * 365))  # Kindergarten age
    page = client.get(f"/parent/applications/new?child={child.id}").get_data(as_text=True)
    for label in (
        "Gewünschter Betreuungsbeginn",
        "Betreuungsart",
        "Wöchentliche Betreuungszeit (Stunden)",
        "1. Wunsch",
        "5. Wunsch",
        "Bemerkungen",
        "Entwurf speichern",
        "Antrag absenden",
        "Beide Eltern berufstätig",
        "Nachweis erforderlich",
        "Geschwisterkind in der Einrichtung",
    ):
        assert label in page, label
    assert '<option selected value="kindergarten">' in page or (
        'value="kindergarten" selected' in page
    )
    # without a care type the server picks it from the age at the start date
    r = client.post(
        "/parent/applications/new",
        data=_form(
            municipality,
            child,
            care_type="",
            wish_2="",
            wish_3="",
            wish_1=municipality["facilities"]["pusteblume"].id,
        ),
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    application = db.session.scalar(select(Application))
    assert application is not None and application.care_type == CareType.KINDERGARTEN


def test_file_application_with_three_wishes_and_criteria(
    client: Any, login_as: Any, municipality: Any, db: Any
) -> None:
    user = login_as(Role.PARENT)
    child = _child(user)
    rules = municipality["rules"]
    data = _form(municipality, child, remarks="Bitte <script>alert(1)</script> beachten")
    data[f"crit_{rules['working'].id}"] = "1"
    data[f"crit_{rules['sibling'].id}"] = "2"  # sibling at the 2nd wish
    r = client.post("/parent/applications/new", data=data)
    assert r.status_code == 302
    application = db.session.scalar(select(Application))
    assert application.status == Status.SUBMITTED
    assert [w.facility.slug for w in application.wishes] == [
        "sonnenschein",
        "regenbogen",
        "pusteblume",
    ]
    crit = {(c.rule.code, c.facility_id) for c in application.criteria}
    assert crit == {("working", None), ("sibling", municipality["facilities"]["regenbogen"].id)}
    assert application.remarks == "Bitte <script>alert(1)</script> beachten"
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Eingegangen" in page and "noch offen" in page and "Platz belegt" in page
    mail = db.session.scalar(select(OutboxMail).where(OutboxMail.kind == "status_changed"))
    assert mail is not None and application.reference in mail.body
    assert f"/parent/applications/{application.id}" in mail.body
    assert child.last_name not in mail.body and "Mia" in mail.body


def test_draft_then_edit_then_submit(client: Any, login_as: Any, municipality: Any) -> None:
    user = login_as(Role.PARENT)
    child = _child(user)
    data = _form(municipality, child)
    data.pop("submit_application")
    data["save_draft"] = "Entwurf speichern"
    r = client.post("/parent/applications/new", data=data)
    assert r.status_code == 302
    application = db.session.scalar(select(Application))
    assert application.status == Status.DRAFT
    assert not db.session.scalar(select(OutboxMail).where(OutboxMail.kind == "status_changed"))
    page = client.get(f"/parent/applications/{application.id}/edit").get_data(as_text=True)
    assert "Entwurf speichern" in page
    data = _form(municipality, child, weekly_hours="40", wish_3="")
    r = client.post(f"/parent/applications/{application.id}/edit", data=data)
    assert r.status_code == 302
    db.session.expire_all()
    application = db.session.get(Application, application.id)
    assert application.status == Status.SUBMITTED and application.weekly_hours == 40
    assert len(application.wishes) == 2
    # still editable while submitted; not once the review starts
    office = User(email="o@example.org", password_hash="x", role=Role.OFFICE)
    db.session.add(office)
    db.session.commit()
    apps.transition(application, "start_review", office)
    r = client.get(f"/parent/applications/{application.id}/edit")
    assert r.status_code == 302
    r = client.post(f"/parent/applications/{application.id}/edit", data=data)
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Application, application.id).weekly_hours == 40


def test_second_open_application_refused_with_reference(
    client: Any, login_as: Any, municipality: Any
) -> None:
    user = login_as(Role.PARENT)
    child = _child(user)
    first = _file(user, child, municipality)
    r = client.post("/parent/applications/new", data=_form(municipality, child))
    assert r.status_code == 422
    assert first.reference in r.get_data(as_text=True)
    assert _count(Application) == 1


def test_siblings_filed_together_share_a_group(
    client: Any, login_as: Any, municipality: Any
) -> None:
    user = login_as(Role.PARENT)
    a = _child(user, "Lena")
    b = households.add_child(
        user,
        households.household_for(user),
        first_name="Lara",
        last_name="Muster",
        birth_date=a.birth_date,
    )
    data = _form(municipality, a, siblings=[str(b.id)], place_together="y")
    r = client.post("/parent/applications/new", data=data)
    assert r.status_code == 302
    rows = db.session.scalars(select(Application).order_by(Application.id)).all()
    assert [r.child_id for r in rows] == [a.id, b.id]
    assert rows[0].sibling_group and rows[0].sibling_group == rows[1].sibling_group
    assert all(r.status == Status.SUBMITTED for r in rows)


def test_withdraw_with_confirmation(client: Any, login_as: Any, municipality: Any) -> None:
    user = login_as(Role.PARENT)
    application = _file(user, _child(user), municipality)
    page = client.get(f"/parent/applications/{application.id}/withdraw").get_data(as_text=True)
    assert "Ja, Antrag zurückziehen" in page
    assert db.session.get(Application, application.id).status == Status.SUBMITTED
    r = client.post(f"/parent/applications/{application.id}/withdraw", data={"message": "Umzug"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Application, application.id).status == Status.WITHDRAWN


def _offered(user: User, municipality: Any, rank: int = 2) -> tuple[Application, Offer]:
    application = _file(user, _child(user), municipality)
    office = User(email="office@example.org", password_hash="x", role=Role.OFFICE)
    db.session.add(office)
    db.session.commit()
    for action in ("start_review", "release", "offer"):
        apps.transition(application, action, office)
    fac = application.wishes[rank - 1].facility
    offer = Offer(
        application_id=application.id,
        facility_id=fac.id,
        care_type=application.care_type,
        wish_rank=rank,
        deadline=utcnow() + timedelta(days=14),
    )
    db.session.add(offer)
    db.session.commit()
    return application, offer


def test_offer_shown_and_accepted_with_waiting(
    client: Any, login_as: Any, municipality: Any
) -> None:
    user = login_as(Role.PARENT)
    application, offer = _offered(user, municipality, rank=2)
    page = client.get(f"/parent/applications/{application.id}").get_data(as_text=True)
    assert "Platz annehmen" in page and "Platz ablehnen" in page
    assert "annehmen und auf besseren Wunsch warten" in page
    assert "Kita Regenbogen" in page and "Bitte antworten Sie bis" in page
    overview = client.get("/parent/").get_data(as_text=True)
    assert "Antwort bis" in overview
    r = client.post(
        f"/parent/applications/{application.id}/offers/{offer.id}/accept",
        data={"keep_waiting": "y"},
    )
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Application, application.id).status == Status.ACCEPTED_WAITING
    assert db.session.get(Offer, offer.id).status == OfferStatus.ACCEPTED
    # a second click changes nothing
    r = client.post(f"/parent/applications/{application.id}/offers/{offer.id}/accept", data={})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Application, application.id).status == Status.ACCEPTED_WAITING


def test_first_wish_offer_has_no_waiting_option_and_decline(
    client: Any, login_as: Any, municipality: Any
) -> None:
    user = login_as(Role.PARENT)
    application, offer = _offered(user, municipality, rank=1)
    page = client.get(f"/parent/applications/{application.id}").get_data(as_text=True)
    assert "annehmen und auf besseren Wunsch warten" not in page
    url = f"/parent/applications/{application.id}/offers/{offer.id}/decline"
    assert "Platz ablehnen" in client.get(url).get_data(as_text=True)
    assert client.post(url).status_code == 302
    db.session.expire_all()
    assert db.session.get(Application, application.id).status == Status.DECLINED
    assert db.session.get(Offer, offer.id).status == OfferStatus.DECLINED


def test_withdraw_after_accepting_releases_the_place(
    client: Any, login_as: Any, municipality: Any
) -> None:
    user = login_as(Role.PARENT)
    application, offer = _offered(user, municipality, rank=1)
    client.post(f"/parent/applications/{application.id}/offers/{offer.id}/accept")
    db.session.expire_all()
    assert db.session.get(Offer, offer.id).status == OfferStatus.ACCEPTED
    page = client.get(f"/parent/applications/{application.id}/withdraw").get_data(as_text=True)
    assert "wird dieser Platz freigegeben" in page
    client.post(f"/parent/applications/{application.id}/withdraw", data={})
    db.session.expire_all()
    assert db.session.get(Application, application.id).status == Status.WITHDRAWN
    assert db.session.get(Offer, offer.id).status == OfferStatus.RELEASED


def test_answer_query(client: Any, login_as: Any, municipality: Any) -> None:
    user = login_as(Role.PARENT)
    application = _file(user, _child(user), municipality)
    office = User(email="office@example.org", password_hash="x", role=Role.OFFICE)
    db.session.add(office)
    db.session.commit()
    apps.transition(application, "start_review", office)
    apps.transition(application, "ask_back", office, message="Bitte Nachweis schicken")
    page = client.get(f"/parent/applications/{application.id}").get_data(as_text=True)
    assert "Bitte Nachweis schicken" in page and "Antwort senden" in page
    r = client.post(f"/parent/applications/{application.id}/answer", data={"message": ""})
    assert r.status_code == 422
    r = client.post(
        f"/parent/applications/{application.id}/answer", data={"message": "Ist unterwegs"}
    )
    assert r.status_code == 302
    db.session.expire_all()
    application = db.session.get(Application, application.id)
    assert application.status == Status.IN_REVIEW
    assert application.events[-1].message == "Ist unterwegs"


def test_outcome_explanation_after_publication(
    client: Any, login_as: Any, municipality: Any
) -> None:
    user = login_as(Role.PARENT)
    application = _file(user, _child(user), municipality)
    application.outcome = json.dumps(
        [
            {
                "facility": "sonnenschein",
                "wish_rank": 1,
                "reason": "full",
                "cutoff_priority": 350,
                "cutoff_tiebreak": 17,
                "own_priority": 100,
            }
        ]
    )
    db.session.commit()
    sentence = (
        "Kita Sonnenschein: alle Krippenplätze vergeben; das zuletzt aufgenommene Kind "
        "hatte 350 Punkte, Ihr Kind 100"
    )
    assert sentence not in client.get(f"/parent/applications/{application.id}").get_data(
        as_text=True
    )
    db.session.add(
        AllocationRun(round_id=application.round_id, status="succeeded", published_at=utcnow())
    )
    db.session.commit()
    page = client.get(f"/parent/applications/{application.id}").get_data(as_text=True)
    assert sentence in page


def test_my_data_page_json_and_viewers(client: Any, login_as: Any, municipality: Any) -> None:
    user = login_as(Role.PARENT)
    child = _child(user, "Émile")
    application = _file(user, child, municipality)
    staff = User(
        email="leitung@example.org",
        password_hash="x",
        role=Role.FACILITY,
        facility_id=municipality["facilities"]["sonnenschein"].id,
        display_name="Frau Leitung",
    )
    db.session.add(staff)
    db.session.commit()
    db.session.add(
        AuditEvent(
            actor_id=staff.id,
            actor_role="facility",
            action="application.view",
            object_type="application",
            object_id=str(application.id),
        )
    )
    db.session.commit()
    page = client.get("/parent/data").get_data(as_text=True)
    assert "Meine Daten" in page and "Émile" in page and application.reference in page
    assert "Kita Sonnenschein (Frau Leitung)" in page
    r = client.get("/parent/data.json")
    assert r.mimetype == "application/json"
    data = json.loads(r.get_data(as_text=True))
    assert data["children"][0]["first_name"] == "Émile"
    assert data["applications"][0]["reference"] == application.reference
    assert data["applications"][0]["timeline"][-1]["station"] == "submitted"
    assert data["viewed_by"][0]["where"] == "Kita Sonnenschein"


def test_delete_account_refused_while_accepted_then_allowed(
    client: Any, login_as: Any, municipality: Any
) -> None:
    user = login_as(Role.PARENT)
    user_id, email = user.id, user.email
    application, offer = _offered(user, municipality, rank=1)
    client.post(f"/parent/applications/{application.id}/offers/{offer.id}/accept")
    r = client.post("/parent/data/delete", data={"confirm": "y"})
    assert r.status_code == 422
    assert "noch nicht bestätigt" in r.get_data(as_text=True)
    assert db.session.get(User, user.id) is not None
    client.post(f"/parent/applications/{application.id}/withdraw", data={})
    r = client.post("/parent/data/delete", data={"confirm": "y"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user_id) is None
    assert _count(Application) == 0 and _count(Child) == 0 and _count(Wish) == 0
    assert _count(Offer) == 0
    assert not db.session.scalars(select(OutboxMail).where(OutboxMail.to_address == email)).all()
    deleted = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "account.deleted"))
    assert deleted is not None
    assert client.get("/parent/").status_code == 302  # logged out


def test_wish_id_beyond_database_integers_is_a_field_error(
    client: Any, login_as: Any, municipality: Any
) -> None:
    user = login_as(Role.PARENT)
    child = _child(user)
    r = client.post(
        "/parent/applications/new",
        data=_form(municipality, child, wish_1="99999999999999999999999", wish_2="", wish_3=""),
    )
    assert r.status_code == 422
    assert "Bitte wählen Sie mindestens Ihren ersten Wunsch." in r.get_data(as_text=True)
    assert db.session.scalar(select(Application)) is None
