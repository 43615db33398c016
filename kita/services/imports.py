"""Import of paper-era applications from a CSV file (layout: docs/import-format.md).

``preview`` parses and checks every row and writes nothing; ``run`` writes all rows in
one transaction or, when any row has an error, nothing at all.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from kita.errors import ValidationFailed
from kita.extensions import db
from kita.models import (
    Application,
    ApplicationCriterion,
    CareType,
    Child,
    Facility,
    Guardian,
    Household,
    PriorityRule,
    ReferenceCounter,
    Round,
    Source,
    Status,
    StatusEvent,
    User,
    Wish,
)
from kita.services import applications, audit

REQUIRED = (
    "eltern_vorname",
    "eltern_nachname",
    "strasse",
    "plz",
    "ort",
    "kind_vorname",
    "kind_nachname",
    "geburtsdatum",
    "betreuungsart",
    "beginn",
    "stunden",
    "wunsch1",
)
OPTIONAL = (
    "ortsteil",
    "telefon",
    "email",
    "wunsch2",
    "wunsch3",
    "wunsch4",
    "wunsch5",
    "kriterien",
    "eingegangen_am",
    "bemerkungen",
)
CARE_TYPES = {
    "krippe": CareType.KRIPPE,
    "kindergarten": CareType.KINDERGARTEN,
    "kiga": CareType.KINDERGARTEN,
    "hort": CareType.HORT,
}
MAX_ROWS = 20000


@dataclass
class ParsedRow:
    line: int
    household_key: tuple[str, str, str]
    guardian: tuple[str, str]
    street: str
    postal_code: str
    city: str
    district: str | None
    phone: str | None
    email: str | None
    child: tuple[str, str, date]
    care_type: CareType
    start_date: date
    hours: int
    wishes: list[int]
    criteria: list[tuple[int, int | None]]
    submitted_at: datetime | None
    remarks: str


@dataclass
class RowError:
    line: int
    messages: list[str]


@dataclass
class Preview:
    rows: list[ParsedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    total: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors and self.total > 0

    @property
    def households(self) -> int:
        return len({r.household_key for r in self.rows})


def decode(data: bytes | str) -> str:
    """An uploaded file as text: UTF-8 (with or without BOM), else Windows-1252."""
    if isinstance(data, str):
        return data.lstrip("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252")


def _date(value: str) -> date:
    value = value.strip()
    for fmt in ("%d.%m.%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, fmt).date()  # noqa: DTZ007 - a date only
        except ValueError:
            continue
    raise ValueError(value)


def preview(data: bytes | str, round_: Round) -> Preview:
    """Parse and check every row; nothing is written."""
    text = decode(data)
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    result = Preview()
    header = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        result.errors.append(
            RowError(1, [str(_l("Missing columns: %(cols)s", cols=", ".join(missing)))])
        )
        return result
    reader.fieldnames = header
    facilities = db.session.scalars(select(Facility)).all()
    by_key: dict[str, Facility] = {}
    for f in facilities:
        by_key[f.slug.lower()] = f
        by_key[f.name.strip().lower()] = f
    rules = {r.code.lower(): r for r in db.session.scalars(select(PriorityRule)).all()}
    seen_children: dict[tuple[str, str, date], int] = {}
    for line, raw in enumerate(reader, start=2):
        if result.total >= MAX_ROWS:
            result.errors.append(RowError(line, [str(_l("Too many rows."))]))
            break
        row = {k: (v or "").strip() for k, v in raw.items() if k}
        if not any(row.values()):
            continue
        result.total += 1
        errs: list[str] = []

        def need(col: str, row: dict[str, str] = row, errs: list[str] = errs) -> str:
            value = row.get(col, "")
            if not value:
                errs.append(str(_l("%(col)s is empty.", col=col)))
            return value

        g_first, g_last = need("eltern_vorname"), need("eltern_nachname")
        street, postal, city = need("strasse"), need("plz"), need("ort")
        if postal and not (len(postal) == 5 and postal.isdigit()):
            errs.append(str(_l("plz: five digits, please.")))
        c_first, c_last = need("kind_vorname"), need("kind_nachname")
        birth = start = None
        try:
            birth = _date(need("geburtsdatum") or "x")
        except ValueError:
            errs.append(str(_l("geburtsdatum: not a date (TT.MM.JJJJ).")))
        try:
            start = _date(need("beginn") or "x")
        except ValueError:
            errs.append(str(_l("beginn: not a date (TT.MM.JJJJ).")))
        care_type = CARE_TYPES.get(row.get("betreuungsart", "").lower())
        if care_type is None:
            errs.append(str(_l("betreuungsart: krippe, kindergarten or hort.")))
        hours = 0
        try:
            hours = int(need("stunden") or "x")
            if not 1 <= hours <= 60:
                raise ValueError
        except ValueError:
            errs.append(str(_l("stunden: a number from 1 to 60.")))
        if birth and start:
            if birth > date.today():
                errs.append(str(_l("geburtsdatum: in the future.")))
            if not (round_.care_start_from <= start <= round_.care_start_to):
                errs.append(str(_l("beginn: outside the round's care start dates.")))
            if care_type and care_type not in applications.allowed_care_types(birth, start):
                errs.append(str(_l("betreuungsart: does not fit the child's age.")))
        wishes: list[int] = []
        for i in range(1, 6):
            key = row.get(f"wunsch{i}", "")
            if not key:
                continue
            fac = by_key.get(key.lower())
            if fac is None or not fac.active:
                errs.append(str(_l("wunsch%(i)d: unknown facility “%(key)s”.", i=i, key=key)))
                continue
            if fac.id in wishes:
                errs.append(str(_l("wunsch%(i)d: facility named twice.", i=i)))
                continue
            offer = fac.offers(care_type) if care_type else None
            if care_type and offer is None:
                errs.append(
                    str(
                        _l(
                            "wunsch%(i)d: %(name)s does not offer this care type.",
                            i=i,
                            name=fac.name,
                        )
                    )
                )
            elif offer and hours and not offer.min_hours <= hours <= offer.max_hours:
                errs.append(
                    str(
                        _l(
                            "wunsch%(i)d: %(name)s offers %(a)d to %(b)d hours.",
                            i=i,
                            name=fac.name,
                            a=offer.min_hours,
                            b=offer.max_hours,
                        )
                    )
                )
            wishes.append(fac.id)
        criteria: list[tuple[int, int | None]] = []
        for token in [
            t.strip() for t in row.get("kriterien", "").replace(",", " ").split() if t.strip()
        ]:
            code, _, fac_key = token.partition("@")
            rule = rules.get(code.lower())
            if rule is None or not rule.active:
                errs.append(str(_l("kriterien: unknown criterion “%(code)s”.", code=code)))
                continue
            fid = None
            if rule.facility_specific:
                fac = by_key.get(fac_key.lower()) if fac_key else None
                if fac is None or fac.id not in wishes:
                    errs.append(
                        str(
                            _l(
                                "kriterien: “%(code)s” needs @ and one of the wished facilities.",
                                code=code,
                            )
                        )
                    )
                    continue
                fid = fac.id
            if (rule.id, fid) not in criteria:
                criteria.append((rule.id, fid))
        submitted = None
        if row.get("eingegangen_am"):
            try:
                submitted = datetime.combine(_date(row["eingegangen_am"]), time(12), tzinfo=UTC)
            except ValueError:
                errs.append(str(_l("eingegangen_am: not a date (TT.MM.JJJJ).")))
        email = row.get("email", "").lower() or None
        if email and "@" not in email:
            errs.append(str(_l("email: not an e-mail address.")))
        if birth and c_first and c_last:
            ckey = (c_first.lower(), c_last.lower(), birth)
            if ckey in seen_children:
                errs.append(
                    str(_l("The same child is already in line %(n)d.", n=seen_children[ckey]))
                )
            else:
                seen_children[ckey] = line
        if errs:
            result.errors.append(RowError(line, errs))
            continue
        assert birth and start and care_type
        result.rows.append(
            ParsedRow(
                line=line,
                household_key=(g_last.lower(), street.lower(), postal),
                guardian=(g_first, g_last),
                street=street,
                postal_code=postal,
                city=city,
                district=row.get("ortsteil") or None,
                phone=row.get("telefon") or None,
                email=email,
                child=(c_first, c_last, birth),
                care_type=care_type,
                start_date=start,
                hours=hours,
                wishes=wishes,
                criteria=criteria,
                submitted_at=submitted,
                remarks=row.get("bemerkungen", "")[:2000],
            )
        )
    if result.total == 0 and not result.errors:
        result.errors.append(RowError(1, [str(_l("The file holds no rows."))]))
    return result


def run(actor: User, data: bytes | str, round_: Round) -> Preview:
    """Write every row, or nothing when any row has an error (``ValidationFailed``)."""
    result = preview(data, round_)
    if not result.ok:
        raise ValidationFailed(
            {
                "file": [
                    str(_l("%(n)d rows have errors; nothing was imported.", n=len(result.errors)))
                ]
            }
        )
    try:
        households: dict[tuple[str, str, str], Household] = {}
        children: list[Child] = []
        for row in result.rows:
            household = households.get(row.household_key)
            if household is None:
                household = Household(
                    user_id=None,
                    entered_by_office=True,
                    street=row.street,
                    postal_code=row.postal_code,
                    city=row.city,
                    district=row.district,
                    phone=row.phone,
                    contact_email=row.email,
                )
                household.guardians.append(
                    Guardian(first_name=row.guardian[0], last_name=row.guardian[1])
                )
                db.session.add(household)
                households[row.household_key] = household
            child = Child(first_name=row.child[0], last_name=row.child[1], birth_date=row.child[2])
            household.children.append(child)
            children.append(child)
        db.session.flush()
        references = _reserve_references(round_.care_start_from.year, len(result.rows))
        created: list[Application] = []
        for row, child, reference in zip(result.rows, children, references, strict=True):
            application = Application(
                reference=reference,
                child_id=child.id,
                round_id=round_.id,
                status=Status.DRAFT,
                care_type=row.care_type,
                start_date=row.start_date,
                weekly_hours=row.hours,
                remarks=row.remarks,
                source=Source.IMPORT,
                created_by_id=actor.id,
            )
            for rank, fid in enumerate(row.wishes, start=1):
                application.wishes.append(Wish(facility_id=fid, rank=rank))
            for rule_id, crit_fid in row.criteria:
                application.criteria.append(
                    ApplicationCriterion(rule_id=rule_id, facility_id=crit_fid)
                )
            db.session.add(application)
            created.append(application)
        db.session.flush()
        db.session.add_all(
            StatusEvent(
                application_id=a.id,
                action="create",
                from_status=None,
                to_status=Status.DRAFT,
                actor_id=actor.id,
            )
            for a in created
        )
        for row, application in zip(result.rows, created, strict=True):
            applications.transition(application, "submit", actor, commit=False, notify=False)
            if row.submitted_at is not None:
                application.submitted_at = row.submitted_at
        audit.record(
            actor,
            "import.applications",
            round_,
            rows=len(result.rows),
            households=len(households),
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return result


def _reserve_references(year: int, n: int) -> list[str]:
    """``n`` consecutive reference numbers of ``year`` in one update (no gaps)."""
    row = db.session.execute(
        update(ReferenceCounter)
        .where(ReferenceCounter.year == year)
        .values(last_number=ReferenceCounter.last_number + n)
        .returning(ReferenceCounter.last_number)
    ).first()
    if row is None:
        db.session.add(ReferenceCounter(year=year, last_number=n))
        db.session.flush()
        last = n
    else:
        last = row[0]
    return [f"KV-{year}-{number:05d}" for number in range(last - n + 1, last + 1)]
