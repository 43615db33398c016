"""Import of paper-era applications: all or nothing, with row-level errors."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from kita.errors import ValidationFailed
from kita.extensions import db
from kita.models import Application, Child, Household, Role, Source, Status, StatusEvent
from kita.services import imports
from tests.conftest import make_user

HEADER = (
    "eltern_vorname;eltern_nachname;strasse;plz;ort;ortsteil;kind_vorname;kind_nachname;"
    "geburtsdatum;betreuungsart;beginn;stunden;wunsch1;wunsch2;kriterien;eingegangen_am"
)


def make_csv(municipality: dict[str, Any], n: int, bad: dict[int, str] | None = None) -> str:
    """``n`` rows; ``bad`` maps a row index to the kind of error put into it."""
    round_ = municipality["round"]
    start = round_.care_start_from + timedelta(days=3)
    lines = [HEADER]
    for i in range(n):
        birth = start - timedelta(days=400 + i % 300)
        family = i // 2  # two children per household
        row = {
            "eltern_vorname": "Eva",
            "eltern_nachname": f"Familie{family}",
            "strasse": f"Weg {family}",
            "plz": "12345",
            "ort": "Musterstadt",
            "ortsteil": "Altstadt" if i % 2 else "Nordstadt",
            "kind_vorname": f"Kind{i}",
            "kind_nachname": f"Familie{family}",
            "geburtsdatum": birth.strftime("%d.%m.%Y"),
            "betreuungsart": "krippe",
            "beginn": start.strftime("%d.%m.%Y"),
            "stunden": "30",
            "wunsch1": "sonnenschein",
            "wunsch2": "Kita Regenbogen",
            "kriterien": "working sibling@sonnenschein" if i % 5 == 0 else "",
            "eingegangen_am": "15.01.2025",
        }
        kind = (bad or {}).get(i)
        if kind == "facility":
            row["wunsch2"] = "gibt-es-nicht"
        elif kind == "date":
            row["geburtsdatum"] = "31.02.2024"
        elif kind == "care":
            row["betreuungsart"] = "hort"
        lines.append(";".join(row.values()))
    return "\n".join(lines) + "\n"


def test_three_bad_rows_among_500_write_nothing(app, municipality):  # type: ignore[no-untyped-def]
    office = make_user(Role.OFFICE)
    data = make_csv(municipality, 500, bad={17: "facility", 250: "date", 499: "care"})
    preview = imports.preview(data.encode("utf-8"), municipality["round"])
    assert preview.total == 500
    assert [e.line for e in preview.errors] == [19, 252, 501]  # header is line 1
    assert "gibt-es-nicht" in preview.errors[0].messages[0]
    assert "geburtsdatum" in preview.errors[1].messages[0]
    assert "betreuungsart" in preview.errors[2].messages[0]
    before = db.session.scalar(select(func.count(Household.id)))
    try:
        imports.run(office, data, municipality["round"])
    except ValidationFailed as exc:
        assert "3" in exc.message
    else:
        raise AssertionError("the import must refuse a file with errors")
    db.session.rollback()
    assert db.session.scalar(select(func.count(Application.id))) == 0
    assert db.session.scalar(select(func.count(Child.id))) == 0
    assert db.session.scalar(select(func.count(Household.id))) == before


def test_clean_file_writes_all(app, municipality):  # type: ignore[no-untyped-def]
    office = make_user(Role.OFFICE)
    data = make_csv(municipality, 500)
    result = imports.run(office, ("\ufeff" + data).encode("utf-8"), municipality["round"])
    assert len(result.rows) == 500 and result.households == 250
    apps = db.session.scalars(select(Application)).all()
    assert len(apps) == 500
    assert {a.status for a in apps} == {Status.SUBMITTED}
    assert {a.source for a in apps} == {Source.IMPORT}
    assert {a.submitted_at.date().isoformat() for a in apps} == {"2025-01-15"}  # type: ignore[union-attr]
    assert len({a.reference for a in apps}) == 500
    households = db.session.scalars(select(Household)).all()
    imported = [h for h in households if h.entered_by_office]
    assert len(imported) == 250 and all(len(h.children) == 2 for h in imported)
    with_criteria = [a for a in apps if a.criteria]
    assert len(with_criteria) == 100
    assert all(not c.verified for a in with_criteria for c in a.criteria)
    assert (
        db.session.scalar(
            select(func.count(StatusEvent.id)).where(StatusEvent.to_status == Status.SUBMITTED)
        )
        == 500
    )


def test_missing_columns_and_web_preview(client, login_as, municipality):  # type: ignore[no-untyped-def]
    preview = imports.preview("vorname;name\nA;B\n", municipality["round"])
    assert (
        not preview.ok
        and "Missing columns" in preview.errors[0].messages[0]
        or ("Fehlende Spalten" in preview.errors[0].messages[0])
    )
    login_as(Role.OFFICE)
    import io

    bad = make_csv(municipality, 20, bad={4: "facility"})
    r = client.post(
        "/office/import",
        data={"round": municipality["round"].id, "file": (io.BytesIO(bad.encode()), "alt.csv")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "gibt-es-nicht" in html and "<td>6</td>" in html
    good = make_csv(municipality, 20)
    r = client.post(
        "/office/import",
        data={"round": municipality["round"].id, "file": (io.BytesIO(good.encode()), "ok.csv")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 200 and db.session.scalar(select(func.count(Application.id))) == 0
    r = client.post(
        "/office/import",
        data={"round": municipality["round"].id, "content": good, "confirm": "1"},
    )
    assert r.status_code == 302
    assert db.session.scalar(select(func.count(Application.id))) == 20
