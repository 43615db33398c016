"""The coordination office's pages: review flow, detail, facilities, rules, rounds,
paper entries and claim, letters, exports and the audit log."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from kita.extensions import db
from kita.models import (
    Application,
    AuditEvent,
    Capacity,
    CareType,
    Facility,
    Household,
    MailStatus,
    OutboxMail,
    PriorityRule,
    Role,
    Source,
    Status,
    User,
)
from kita.services import applications, households
from tests.conftest import PASSWORD, make_user


def file_application(
    municipality: dict[str, Any],
    *,
    first: str = "Mia",
    last: str = "Muster",
    birth: date | None = None,
    email: str | None = None,
    criteria: list[tuple[str, str | None]] | None = None,
    district: str = "Altstadt",
    wishes: tuple[str, ...] = ("sonnenschein", "pusteblume"),
) -> Application:
    """A parent with household and child files a submitted application (services only)."""
    parent = make_user(Role.PARENT, email=email)
    household = db.session.scalar(select(Household).where(Household.user_id == parent.id))
    assert household is not None
    households.update_household(
        parent,
        household,
        first_name="Eva",
        last_name=last,
        street="Weg 2",
        postal_code="12345",
        city="Musterstadt",
        district=district,
    )
    round_ = municipality["round"]
    start = round_.care_start_from + timedelta(days=10)
    child = households.add_child(
        parent,
        household,
        first_name=first,
        last_name=last,
        birth_date=birth or start - timedelta(days=500),
    )
    facs = municipality["facilities"]
    rules = municipality["rules"]
    crit = [(rules[code].id, facs[fac].id if fac else None) for code, fac in (criteria or [])]
    data = applications.ApplicationInput(
        child_id=child.id,
        round_id=round_.id,
        start_date=start,
        care_type=CareType.KRIPPE,
        weekly_hours=30,
        wishes=[facs[w].id for w in wishes],
        criteria=crit,
    )
    return applications.create(parent, child, round_, data, submit=True)


def parent_mails(app_id: int) -> list[OutboxMail]:
    return list(
        db.session.scalars(
            select(OutboxMail).where(OutboxMail.application_id == app_id).order_by(OutboxMail.id)
        ).all()
    )


def test_review_flow_through_every_action(client, login_as, municipality):  # type: ignore[no-untyped-def]
    app = file_application(municipality, criteria=[("working", None), ("sibling", "sonnenschein")])
    parent_email = app.child.household.user.email
    office = login_as(Role.OFFICE)
    url = f"/office/applications/{app.id}"

    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for label in ("Prüfung beginnen",):
        assert label in html
    assert "Freigeben" not in html  # not allowed from "Eingegangen"
    # refused outside the allowed stations: release straight from "submitted"
    r = client.post(f"{url}/action/release", data={"release-message": "x"})
    assert r.status_code == 409
    db.session.refresh(app)
    assert app.status == Status.SUBMITTED

    r = client.post(f"{url}/action/start_review", data={"start_review-message": ""})
    assert r.status_code == 302
    db.session.refresh(app)
    assert app.status == Status.IN_REVIEW

    # ask back needs a message: re-shown with the error next to the field
    r = client.post(f"{url}/action/ask_back", data={"ask_back-message": ""})
    assert r.status_code == 422
    assert "Please enter a message" in r.get_data(as_text=True) or "Nachricht" in r.get_data(
        as_text=True
    )
    r = client.post(
        f"{url}/action/ask_back", data={"ask_back-message": "Bitte Arbeitgeberbescheinigung"}
    )
    assert r.status_code == 302
    db.session.refresh(app)
    assert app.status == Status.QUERY
    # the parents answer (their portal uses the same transition) -> back in review
    parent = db.session.get(User, app.child.household.user_id)
    applications.transition(app, "answer", parent, message="Liegt bei")
    assert app.status == Status.IN_REVIEW

    # verify one criterion: only it counts
    crit = {c.rule.code: c for c in app.criteria}
    r = client.post(f"{url}/criteria", data={"verified": [str(crit["working"].id)]})
    assert r.status_code == 302
    db.session.refresh(crit["working"])
    db.session.refresh(crit["sibling"])
    assert crit["working"].verified and not crit["sibling"].verified
    html = client.get(url).get_data(as_text=True)
    assert "200" in html  # points at each wished facility

    r = client.post(f"{url}/action/release", data={"release-message": "Alles vollständig"})
    assert r.status_code == 302
    db.session.refresh(app)
    assert app.status == Status.RELEASED
    # reject is refused after the release
    r = client.post(f"{url}/action/reject", data={"reject-message": "zu spät"})
    assert r.status_code == 409
    db.session.refresh(app)
    assert app.status == Status.RELEASED

    # the parent's timeline and mails
    events = [(e.to_status, e.message) for e in app.events]
    assert events == [
        (Status.DRAFT, None),
        (Status.SUBMITTED, None),
        (Status.IN_REVIEW, None),
        (Status.QUERY, "Bitte Arbeitgeberbescheinigung"),
        (Status.IN_REVIEW, "Liegt bei"),
        (Status.RELEASED, "Alles vollständig"),
    ]
    mails = parent_mails(app.id)
    assert all(m.to_address == parent_email for m in mails)
    bodies = "\n".join(m.body for m in mails)
    assert "Bitte Arbeitgeberbescheinigung" in bodies and "Alles vollständig" in bodies
    assert len(mails) == 4  # submitted, in review, query, released (the answer is silent)
    # every detail view is audited
    views = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "application.view", AuditEvent.object_id == str(app.id)
        )
    ).all()
    assert len(views) == 2 and all(v.actor_id == office.id for v in views)


def test_reject_with_reason_and_notes_stay_internal(client, login_as, municipality):  # type: ignore[no-untyped-def]
    app = file_application(municipality)
    login_as(Role.OFFICE)
    url = f"/office/applications/{app.id}"
    r = client.post(f"{url}/notes", data={"text": "Vater rief an, Unterlagen folgen"})
    assert r.status_code == 302
    r = client.post(f"{url}/action/reject", data={"reject-message": ""})
    assert r.status_code == 422
    r = client.post(f"{url}/action/reject", data={"reject-message": "Wohnsitz außerhalb"})
    assert r.status_code == 302
    db.session.refresh(app)
    assert app.status == Status.REJECTED and app.reject_reason == "Wohnsitz außerhalb"
    assert "Vater rief an" in client.get(url).get_data(as_text=True)
    mails = parent_mails(app.id)
    assert "Wohnsitz außerhalb" in mails[-1].body
    assert all("Vater rief an" not in m.body for m in mails)


def test_duplicates_detected_and_merged(client, login_as, municipality):  # type: ignore[no-untyped-def]
    birth = municipality["round"].care_start_from - timedelta(days=400)
    a = file_application(municipality, first="Ben", last="Doppel", birth=birth)
    b = file_application(municipality, first="ben", last="Doppel", birth=birth)
    other = file_application(
        municipality, first="Ben", last="Doppel", birth=birth - timedelta(days=1)
    )
    login_as(Role.OFFICE)
    html = client.get(f"/office/applications/{b.id}").get_data(as_text=True)
    assert a.reference in html and other.reference not in html
    r = client.post(f"/office/applications/{b.id}/merge", data={"target": a.id, "message": ""})
    assert r.status_code == 302
    db.session.refresh(b)
    assert b.status == Status.WITHDRAWN and b.merged_into_id == a.id
    assert a.reference in parent_mails(b.id)[-1].body


def test_office_user_cannot_act_as_other_roles(client, login_as, municipality):  # type: ignore[no-untyped-def]
    app = file_application(municipality)
    login_as(Role.FACILITY, facility=municipality["facilities"]["sonnenschein"])
    assert client.get(f"/office/applications/{app.id}").status_code == 403
    assert client.post(f"/office/applications/{app.id}/action/start_review").status_code == 403
    db.session.refresh(app)
    assert app.status == Status.SUBMITTED


def test_unknown_application_is_404_and_audited(client, login_as, municipality):  # type: ignore[no-untyped-def]
    login_as(Role.OFFICE)
    assert client.get("/office/applications/99999").status_code == 404
    assert db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "access.denied", AuditEvent.object_id == "99999"
        )
    )


def test_list_filters_search_and_bulk_release(client, login_as, municipality):  # type: ignore[no-untyped-def]
    a = file_application(municipality, first="Anna", last="Alpha", district="Altstadt")
    b = file_application(
        municipality, first="Bert", last="Beta", district="Nordstadt", wishes=("pusteblume",)
    )
    c = file_application(
        municipality,
        first="Carl",
        last="Gamma",
        district="Nordstadt",
        criteria=[("hardship", None)],
    )
    office = login_as(Role.OFFICE)
    for x in (a, b, c):
        applications.transition(x, "start_review", office)

    def refs(**params: Any) -> set[str]:
        html = client.get("/office/applications", query_string=params).get_data(as_text=True)
        return {x.reference for x in (a, b, c) if x.reference in html}

    assert refs() == {a.reference, b.reference, c.reference}
    assert refs(q="beta") == {b.reference}
    assert refs(q=c.reference) == {c.reference}
    assert refs(district="Nordstadt") == {b.reference, c.reference}
    assert refs(facility=municipality["facilities"]["sonnenschein"].id) == {
        a.reference,
        c.reference,
    }
    assert refs(rule=municipality["rules"]["hardship"].id) == {c.reference}
    assert refs(status="released") == set()
    assert refs(care_type="hort") == set()
    today = date.today()
    assert refs(submitted_from=(today + timedelta(days=1)).isoformat()) == set()
    assert refs(submitted_from=today.isoformat(), submitted_to=today.isoformat()) == {
        a.reference,
        b.reference,
        c.reference,
    }
    # bulk release of the filtered selection only
    r = client.post("/office/applications/release?district=Nordstadt", data={"message": "Freigabe"})
    assert r.status_code == 302
    for x in (a, b, c):
        db.session.refresh(x)
    assert (a.status, b.status, c.status) == (Status.IN_REVIEW, Status.RELEASED, Status.RELEASED)


def test_pages_render(client, login_as, municipality):  # type: ignore[no-untyped-def]
    file_application(municipality)
    login_as(Role.OFFICE)
    for url in (
        "/office/",
        "/office/applications",
        "/office/figures",
        "/office/facilities",
        "/office/facilities/new",
        f"/office/facilities/{municipality['facilities']['sonnenschein'].id}",
        "/office/rules",
        "/office/rules/new",
        "/office/rounds",
        "/office/rounds/new",
        f"/office/rounds/{municipality['round'].id}/edit",
        "/office/exports",
        "/office/import",
        "/office/entries/new",
        "/office/letters",
        "/office/audit",
    ):
        r = client.get(url)
        assert r.status_code == 200, (url, r.get_data(as_text=True)[:2000])
    svg = client.get("/office/charts/demand.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert b"<svg" in svg.data
    html = client.get("/office/").get_data(as_text=True)
    assert 'alt="' in html and "charts/demand.svg" in html
    assert "Altstadt" in html  # the table beside the chart


def test_facility_create_edit_capacity_deactivate_and_invite(
    client, login_as, municipality, sent_mails
):  # type: ignore[no-untyped-def]
    office = login_as(Role.OFFICE)
    r = client.post(
        "/office/facilities/new",
        data={
            "name": "Kita Löwenzahn",
            "operator": "AWO",
            "street": "Blumenweg 3",
            "postal_code": "12345",
            "city": "Musterstadt",
            "district": "Südstadt",
            "ct_kindergarten": "y",
            "min_kindergarten": "25",
            "max_kindergarten": "45",
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    fac = db.session.scalar(select(Facility).where(Facility.name == "Kita Löwenzahn"))
    assert fac is not None and fac.slug == "kita-loewenzahn"
    assert [(c.care_type, c.min_hours, c.max_hours) for c in fac.care_types] == [
        (CareType.KINDERGARTEN, 25, 45)
    ]
    # invalid hours are shown next to the field
    r = client.post(
        f"/office/facilities/{fac.id}/edit",
        data={
            "name": "Kita Löwenzahn",
            "district": "Südstadt",
            "ct_hort": "y",
            "min_hort": "30",
            "max_hort": "10",
        },
    )
    assert r.status_code == 422
    round_ = municipality["round"]
    r = client.post(
        f"/office/facilities/{fac.id}?round={round_.id}",
        data={"cap-places_kindergarten": "12", "cap-submit": "1"},
    )
    assert r.status_code == 302
    cap = db.session.scalar(select(Capacity).where(Capacity.facility_id == fac.id))
    assert cap is not None and cap.places == 12
    audit_row = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "capacity.change"))
    assert audit_row is not None and '"after": 12' in audit_row.details
    assert audit_row.actor_id == office.id
    # staff invitation: an account without a usable password and a reset link by mail
    r = client.post(
        f"/office/facilities/{fac.id}",
        data={"inv-email": "leitung@loewenzahn.example", "inv-submit": "1"},
    )
    assert r.status_code == 302
    staff = db.session.scalar(select(User).where(User.email == "leitung@loewenzahn.example"))
    assert staff is not None and staff.role == Role.FACILITY and staff.facility_id == fac.id
    mail = db.session.scalar(select(OutboxMail).where(OutboxMail.to_address == staff.email))
    assert mail is not None and "/reset/" in mail.body or "reset" in mail.body
    r = client.post(f"/office/facilities/{fac.id}/active", data={"active": "0"})
    assert r.status_code == 302
    db.session.refresh(fac)
    assert fac.active is False


def test_rules_crud_and_tiebreak(client, login_as, municipality):  # type: ignore[no-untyped-def]
    login_as(Role.OFFICE)
    r = client.post(
        "/office/rules/new",
        data={
            "code": "alleinerziehend",
            "label_de": "Alleinerziehend",
            "label_en": "Single parent",
            "points": "250",
            "active": "y",
        },
    )
    assert r.status_code == 302
    r = client.post(
        "/office/rules/new",
        data={"code": "alleinerziehend", "label_de": "X", "label_en": "X", "points": "1"},
    )
    assert r.status_code == 422  # duplicate code, next to the field
    for order in ("99999999999", "-1"):  # beyond the column: a message, nothing saved
        r = client.post(
            "/office/rules/new",
            data={
                "code": "gross",
                "label_de": "X",
                "label_en": "X",
                "points": "1",
                "sort_order": order,
            },
        )
        assert r.status_code == 422 and "Bitte zwischen 0 und 10000." in r.get_data(as_text=True)
        assert db.session.scalar(select(PriorityRule).where(PriorityRule.code == "gross")) is None
    rule = municipality["rules"]["working"]
    r = client.post(
        f"/office/rules/{rule.id}/edit",
        data={
            "code": "working",
            "label_de": rule.label_de,
            "label_en": rule.label_en,
            "points": "150",
        },
    )
    assert r.status_code == 302
    db.session.refresh(rule)
    assert rule.points == 150 and rule.active is False  # unticked checkbox
    round_ = municipality["round"]
    r = client.post(
        f"/office/rounds/{round_.id}/tiebreak", data={f"r{round_.id}-tiebreak_method": "submission"}
    )
    assert r.status_code == 302
    db.session.refresh(round_)
    assert round_.tiebreak_method.value == "submission"


def test_round_create_and_edit(client, login_as, municipality):  # type: ignore[no-untyped-def]
    login_as(Role.OFFICE)
    data = {
        "name": "Kita-Jahr 2030/31",
        "care_start_from": "2030-08-01",
        "care_start_to": "2031-07-31",
        "application_deadline": "2030-01-31",
        "offer_response_days": "10",
        "tiebreak_method": "lottery",
    }
    assert client.post("/office/rounds/new", data=data).status_code == 302
    bad = dict(data, name="Andere", care_start_to="2030-01-01")
    r = client.post("/office/rounds/new", data=bad)
    assert r.status_code == 422
    assert "Kita-Jahr 2030/31" in client.get("/office/rounds").get_data(as_text=True)


def test_paper_entry_letters_and_claim(app, client, auth, login_as, municipality):  # type: ignore[no-untyped-def]
    login_as(Role.OFFICE)
    round_ = municipality["round"]
    start = round_.care_start_from + timedelta(days=5)
    facs = municipality["facilities"]
    form = {
        "guardian_first_name": "Hans",
        "guardian_last_name": "Papier",
        "street": "Amtsweg 1",
        "postal_code": "12345",
        "city": "Musterstadt",
        "district": "",
        "locale": "de",
        "child_first_name": "Paula",
        "child_last_name": "Papier",
        "birth_date": (start - timedelta(days=600)).isoformat(),
        "round_id": str(round_.id),
        "start_date": start.isoformat(),
        "care_type": "krippe",
        "weekly_hours": "30",
        "wish_1": str(facs["regenbogen"].id),
        "wish_2": "0",
        "wish_3": "0",
        "wish_4": "0",
        "wish_5": "0",
        "criteria": [str(municipality["rules"]["working"].id)],
    }
    r = client.post("/office/entries/new", data=dict(form, wish_1="0"))
    assert r.status_code == 422  # no wish: nothing written
    assert db.session.scalar(select(Household).where(Household.entered_by_office.is_(True))) is None
    r = client.post("/office/entries/new", data=form)
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    application = db.session.scalar(select(Application).where(Application.source == Source.OFFICE))
    assert application is not None and application.status == Status.SUBMITTED
    household = application.child.household
    assert household.user_id is None and household.letters_only
    letters = parent_mails(application.id)
    assert letters and all(m.status == MailStatus.LETTER and m.to_address is None for m in letters)
    code_letter = next(m for m in letters if m.kind == "claim_code")
    import re

    code = re.search(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", code_letter.body).group(0)  # type: ignore[union-attr]
    # the office lists and prints the letters
    html = client.get("/office/letters").get_data(as_text=True)
    assert code_letter.subject in html
    r = client.post(f"/office/letters/{code_letter.id}/printed")
    assert r.status_code == 302
    db.session.refresh(code_letter)
    assert code_letter.printed_at is not None
    # later the family registers and takes over the record
    auth.logout()
    parent = make_user(Role.PARENT, email="papier@example.org")
    auth.login(parent)
    r = client.post("/claim/", data={"code": "AAAA-BBBB-CCCC"})
    assert r.status_code == 422
    r = client.post("/claim/", data={"code": code.lower()})
    assert r.status_code == 302
    db.session.expire_all()
    household = db.session.get(Household, household.id)
    assert household is not None and household.user_id == parent.id
    assert household.claim_code_hash is None
    assert db.session.scalars(select(Household).where(Household.user_id == parent.id)).all() == [
        household
    ]
    # the code works only once
    other = make_user(Role.PARENT, email="zweiter@example.org")
    auth.logout()
    auth.login(other)
    assert client.post("/claim/", data={"code": code}).status_code == 422
    assert PASSWORD
    # the household now has an account: no new code can be issued for it
    auth.logout()
    login_as(Role.OFFICE)
    r = client.post(f"/office/applications/{application.id}/claim-code")
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Household, household.id).claim_code_hash is None  # type: ignore[union-attr]


def test_lost_letter_new_claim_code(app, client, auth, login_as, municipality):  # type: ignore[no-untyped-def]
    """The office issues a new access code when the letter was lost; the old one stops."""
    import re

    from tests.services.round_helpers import paper_application

    office = login_as(Role.OFFICE)
    application, first_code = paper_application(office, municipality)
    html = client.get(f"/office/applications/{application.id}").get_data(as_text=True)
    assert "Neuen Zugangscode ausstellen" in html
    r = client.post(f"/office/applications/{application.id}/claim-code")
    assert r.status_code == 302
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    new_code = re.search(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", page).group(0)  # type: ignore[union-attr]
    assert new_code != first_code
    letters = [m for m in parent_mails(application.id) if m.kind == "claim_code"]
    assert len(letters) == 2
    assert new_code in letters[-1].body and "no longer works" not in letters[-1].body
    assert "Der bisherige Code gilt nicht mehr" in letters[-1].body
    assert letters[-1].status == MailStatus.LETTER
    assert db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "household.claim_code_renewed")
    )
    auth.logout()
    parent = make_user(Role.PARENT, email="brief@example.org")
    auth.login(parent)
    assert client.post(f"/office/applications/{application.id}/claim-code").status_code in (
        403,
        404,
    )
    assert client.post("/claim/", data={"code": first_code}).status_code == 422
    assert client.post("/claim/", data={"code": new_code}).status_code == 302
    db.session.expire_all()
    assert application.child.household.user_id == parent.id


def test_exports_and_audit_page(client, login_as, municipality):  # type: ignore[no-untyped-def]
    file_application(municipality, first="=HYPERLINK(1)", last="@Evil")
    office = login_as(Role.OFFICE)
    r = client.get("/office/applications/export.xlsx")
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.data))
    rows = list(wb.active.iter_rows(values_only=True))
    assert len(rows) == 2
    assert rows[1][2] == "'=HYPERLINK(1)" and rows[1][3] == "'@Evil"
    r = client.get("/office/applications/export.csv")
    text = r.data.decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in text and "\n=" not in text and ";=" not in text
    fac = municipality["facilities"]["sonnenschein"]
    assert client.get(f"/office/facilities/{fac.id}/export.xlsx").status_code == 200
    html = client.get("/office/audit", query_string={"action": "export"}).get_data(as_text=True)
    assert "export.applications" in html and "application.create" not in html
    assert office.email in html


@pytest.mark.parametrize(
    "url", ["/office/", "/office/applications", "/office/audit", "/office/rules"]
)
def test_parent_gets_403(client, login_as, url):  # type: ignore[no-untyped-def]
    login_as(Role.PARENT)
    assert client.get(url).status_code == 403
