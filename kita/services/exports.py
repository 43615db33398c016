"""Exports as CSV and XLSX: the office's application list and per-facility lists.

Cells that begin with ``=``, ``+``, ``-``, ``@`` (or a tab / carriage return) are
neutralised with a leading apostrophe so that spreadsheet programs never evaluate
them as formulas.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload, selectinload

from kita.extensions import db
from kita.models import (
    Application,
    ApplicationCriterion,
    Child,
    Facility,
    Household,
    Offer,
    Status,
    Wish,
)
from kita.services import points
from kita.services.permissions import facility_sees
from kita.services.review import Filters, filtered
from kita.services.stations import care_type_label, station_label

Row = Sequence[Any]
_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")

APPLICATION_HEADER = (
    _l("Reference"),
    _l("Station"),
    _l("Child first name"),
    _l("Child last name"),
    _l("Date of birth"),
    _l("Care type"),
    _l("Start date"),
    _l("Weekly hours"),
    _l("District"),
    _l("Postcode"),
    _l("Submitted"),
    _l("Source"),
    _l("1st wish"),
    _l("2nd wish"),
    _l("3rd wish"),
    _l("4th wish"),
    _l("5th wish"),
    _l("Points (1st wish)"),
)
FACILITY_HEADER = (
    _l("Reference"),
    _l("Station"),
    _l("Child first name"),
    _l("Child last name"),
    _l("Date of birth"),
    _l("Age at start"),
    _l("Care type"),
    _l("Weekly hours"),
    _l("Start date"),
    _l("Rank of this facility"),
    _l("Points"),
    _l("Offer"),
)
#: stations in which a facility sees an application that names it
FACILITY_VISIBLE = frozenset(
    {
        Status.RELEASED,
        Status.OFFERED,
        Status.ACCEPTED,
        Status.ACCEPTED_WAITING,
        Status.ENROLLED,
        Status.WAITLIST,
        Status.DECLINED,
        Status.EXPIRED,
    }
)


def neutralise(value: Any) -> Any:
    """A cell value that no spreadsheet evaluates as a formula."""
    if isinstance(value, str) and value.startswith(_DANGEROUS):
        return "'" + value
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if value is None:
        return ""
    return value


def to_csv(header: Iterable[Any], rows: Iterable[Row]) -> bytes:
    """Semicolon-separated UTF-8 with BOM (opens correctly in German spreadsheet programs)."""
    out = io.StringIO()
    w = csv.writer(out, delimiter=";")
    w.writerow([neutralise(str(h)) for h in header])
    for row in rows:
        w.writerow([neutralise(_plain(v)) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(header: Iterable[Any], rows: Iterable[Row], title: str = "Export") -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=title[:31])
    ws.append([neutralise(str(h)) for h in header])
    for row in rows:
        cells = []
        for v in row:
            v = _plain(v) if isinstance(v, datetime) else v
            cells.append(neutralise(v if v is not None else ""))
        ws.append(cells)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def application_rows(filters: Filters) -> list[list[Any]]:
    """The office's export of the filtered application list (no N+1)."""
    stmt = (
        filtered(filters)
        .options(
            joinedload(Application.child).joinedload(Child.household),
            selectinload(Application.wishes).joinedload(Wish.facility),
            selectinload(Application.criteria).joinedload(ApplicationCriterion.rule),
        )
        .order_by(Application.submitted_at, Application.id)
    )
    rows = []
    for a in db.session.scalars(stmt).unique():
        child: Child = a.child
        household: Household = child.household
        names = [w.facility.name for w in a.wishes] + [""] * (5 - len(a.wishes))
        pts = points.for_application(a)
        first = a.wishes[0].facility_id if a.wishes else None
        rows.append(
            [
                a.reference,
                station_label(a.status),
                child.first_name,
                child.last_name,
                child.birth_date,
                care_type_label(a.care_type),
                a.start_date,
                a.weekly_hours,
                household.district or "",
                household.postal_code,
                a.submitted_at,
                str(a.source),
                *names[:5],
                pts.get(first, 0) if first is not None else 0,
            ]
        )
    return rows


def facility_rows(facility_id: int) -> list[list[Any]]:
    """Released (and later) applications that wish ``facility_id`` or got an offer there.

    Shared with the facility staff's export: it shows nothing of families who did not
    choose the facility.
    """
    wished = select(Wish.application_id).where(Wish.facility_id == facility_id)
    offered = select(Offer.application_id).where(Offer.facility_id == facility_id)
    stmt = (
        select(Application)
        .where(
            Application.status.in_(FACILITY_VISIBLE),
            or_(Application.id.in_(wished), Application.id.in_(offered)),
        )
        .options(
            joinedload(Application.child),
            selectinload(Application.wishes),
            selectinload(Application.offers),
            selectinload(Application.criteria).joinedload(ApplicationCriterion.rule),
        )
        .order_by(Application.care_type, Application.reference)
    )
    rows = []
    for a in db.session.scalars(stmt).unique():
        if not facility_sees(a, facility_id):  # enrolled at another facility
            continue
        child = a.child
        rank = next((w.rank for w in a.wishes if w.facility_id == facility_id), None)
        offer = next((o for o in reversed(a.offers) if o.facility_id == facility_id), None)
        years, months = child.age_on(a.start_date)
        pts = points.for_application(a)
        rows.append(
            [
                a.reference,
                station_label(a.status),
                child.first_name,
                child.last_name,
                child.birth_date,
                f"{years};{months}",
                care_type_label(a.care_type),
                a.weekly_hours,
                a.start_date,
                rank if rank is not None else "",
                pts.get(facility_id, 0) if rank is not None else "",
                str(offer.status) if offer is not None else "",
            ]
        )
    return rows


def facility_export(facility: Facility, fmt: str) -> tuple[bytes, str, str]:
    """(content, mimetype, filename) of a facility's list."""
    rows = facility_rows(facility.id)
    name = f"kitaplatz-{facility.slug}-{date.today().isoformat()}"
    return _pack(FACILITY_HEADER, rows, fmt, name, facility.name)


def applications_export(filters: Filters, fmt: str) -> tuple[bytes, str, str]:
    rows = application_rows(filters)
    name = f"kitaplatz-antraege-{date.today().isoformat()}"
    return _pack(APPLICATION_HEADER, rows, fmt, name, "Antraege")


def _pack(
    header: Iterable[Any], rows: list[list[Any]], fmt: str, name: str, title: str
) -> tuple[bytes, str, str]:
    if fmt == "xlsx":
        return (
            to_xlsx(header, rows, title),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            f"{name}.xlsx",
        )
    return to_csv(header, rows), "text/csv; charset=utf-8", f"{name}.csv"
