"""Exports open in openpyxl with the expected rows; formula injection is neutralised."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from kita.models import Role
from kita.services import applications, exports
from kita.services.review import Filters
from tests.conftest import make_user
from tests.web.test_office import file_application


def test_neutralise() -> None:
    for bad in ("=1+2", "+49 123", "-5", "@SUM(A1)", "\t=x", "\r=x"):
        assert exports.neutralise(bad) == "'" + bad
    assert exports.neutralise("Müller") == "Müller"
    assert exports.neutralise(5) == 5


def test_application_and_facility_exports(app, municipality):  # type: ignore[no-untyped-def]
    evil = file_application(municipality, first="=cmd|' /C calc'!A0", last="+Evil")
    plain = file_application(municipality, first="Lena", last="Lang", wishes=("regenbogen",))
    office = make_user(Role.OFFICE)
    round_id = municipality["round"].id

    content, mimetype, filename = exports.applications_export(Filters(round_id=round_id), "xlsx")
    assert filename.endswith(".xlsx") and "spreadsheetml" in mimetype
    wb = load_workbook(io.BytesIO(content))
    rows = list(wb.active.iter_rows(values_only=True))
    assert len(rows) == 3  # header + 2
    by_ref = {r[0]: r for r in rows[1:]}
    assert by_ref[evil.reference][2] == "'=cmd|' /C calc'!A0"
    assert by_ref[evil.reference][3] == "'+Evil"
    assert by_ref[plain.reference][3] == "Lang"
    assert by_ref[plain.reference][12] == "Kita Regenbogen"
    # no cell of the workbook is a formula
    assert all(
        not (isinstance(c.value, str) and c.value.startswith("="))
        for row in wb.active.iter_rows()
        for c in row
    )

    content, _m, _f = exports.applications_export(Filters(round_id=round_id), "csv")
    parsed = list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    assert len(parsed) == 3
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in parsed for cell in row)

    # per facility: only released (and later) applications naming it
    fac = municipality["facilities"]["sonnenschein"]
    assert exports.facility_rows(fac.id) == []
    for a in (evil, plain):
        applications.transition(a, "start_review", office)
        applications.transition(a, "release", office)
    rows = exports.facility_rows(fac.id)
    assert [r[0] for r in rows] == [evil.reference]  # plain did not choose it
    assert rows[0][9] == 1  # rank the family gave it
    content, _m, _f = exports.facility_export(fac, "xlsx")
    sheet = list(load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))
    assert len(sheet) == 2 and sheet[1][2] == "'=cmd|' /C calc'!A0"
