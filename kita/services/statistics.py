"""Figures for the office: the dashboard, demand vs places, and service figures.

Every function runs a fixed number of aggregate queries, whatever the number of
applications.
"""

from __future__ import annotations

import csv
import io
import statistics as pystats
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from kita.extensions import db
from kita.models import (
    Application,
    Capacity,
    CareType,
    Child,
    Facility,
    Household,
    Offer,
    OfferStatus,
    Round,
    Source,
    Status,
    StatusEvent,
)
from kita.services.stations import care_type_label

#: applications that count as demand (filed and not rejected or withdrawn)
DEMAND_EXCLUDED = (Status.DRAFT, Status.REJECTED, Status.WITHDRAWN)
#: stations in which an application waits for the office
WAITING_STATUSES = (Status.SUBMITTED, Status.IN_REVIEW, Status.QUERY)
#: counts below this are not shown in anonymised downloads
MIN_CELL = 5
NO_DISTRICT = "–"


@dataclass
class Dashboard:
    round: Round | None
    by_status: dict[Status, int]
    by_care_type: dict[CareType, int]
    matrix: dict[tuple[Status, CareType], int]
    total: int
    waiting: list[Application]
    next_offer_deadline: datetime | None
    open_offers: int


def dashboard(round_: Round | None, waiting_limit: int = 10) -> Dashboard:
    matrix: dict[tuple[Status, CareType], int] = {}
    by_status: dict[Status, int] = defaultdict(int)
    by_care: dict[CareType, int] = defaultdict(int)
    waiting: list[Application] = []
    next_deadline = None
    open_offers = 0
    if round_ is not None:
        rows = db.session.execute(
            select(Application.status, Application.care_type, func.count())
            .where(Application.round_id == round_.id, Application.status != Status.DRAFT)
            .group_by(Application.status, Application.care_type)
        ).all()
        for status, care_type, n in rows:
            s, c = Status(status), CareType(care_type)
            matrix[(s, c)] = n
            by_status[s] += n
            by_care[c] += n
        waiting = list(
            db.session.scalars(
                select(Application)
                .where(
                    Application.round_id == round_.id,
                    Application.status.in_(WAITING_STATUSES),
                )
                .options(joinedload(Application.child))
                .order_by(Application.status_changed_at, Application.id)
                .limit(waiting_limit)
            ).all()
        )
        next_deadline, open_offers = db.session.execute(
            select(func.min(Offer.deadline), func.count(Offer.id))
            .join(Application, Offer.application_id == Application.id)
            .where(Application.round_id == round_.id, Offer.status == OfferStatus.OPEN)
        ).one()
    return Dashboard(
        round=round_,
        by_status=dict(by_status),
        by_care_type=dict(by_care),
        matrix=matrix,
        total=sum(by_status.values()),
        waiting=waiting,
        next_offer_deadline=next_deadline,
        open_offers=open_offers or 0,
    )


@dataclass
class DemandRow:
    care_type: CareType
    district: str
    demand: int
    places: int

    @property
    def gap(self) -> int:
        return self.places - self.demand


def demand_vs_places(round_: Round | None) -> list[DemandRow]:
    """Demand (by the family's district) and places (by the facility's district)."""
    if round_ is None:
        return []
    demand: dict[tuple[CareType, str], int] = defaultdict(int)
    places: dict[tuple[CareType, str], int] = defaultdict(int)
    for care_type, district, n in db.session.execute(
        select(Application.care_type, Household.district, func.count())
        .join(Child, Application.child_id == Child.id)
        .join(Household, Child.household_id == Household.id)
        .where(Application.round_id == round_.id, Application.status.notin_(DEMAND_EXCLUDED))
        .group_by(Application.care_type, Household.district)
    ).all():
        demand[(CareType(care_type), district or NO_DISTRICT)] += n
    for care_type, district, n in db.session.execute(
        select(Capacity.care_type, Facility.district, func.sum(Capacity.places))
        .join(Facility, Capacity.facility_id == Facility.id)
        .where(Capacity.round_id == round_.id, Facility.active.is_(True))
        .group_by(Capacity.care_type, Facility.district)
    ).all():
        places[(CareType(care_type), district or NO_DISTRICT)] += int(n or 0)
    keys = sorted(set(demand) | set(places), key=lambda k: (list(CareType).index(k[0]), k[1]))
    return [DemandRow(ct, d, demand.get((ct, d), 0), places.get((ct, d), 0)) for ct, d in keys]


def demand_chart_svg(rows: list[DemandRow], title: str = "") -> bytes:
    """Grouped bars (demand, places) per care type and district as SVG (Agg, no pyplot).

    Rendering takes a few hundred milliseconds, so identical figures are served from a
    small cache (keyed by the numbers, the title and the language).
    """
    key = tuple((r.care_type, r.district, r.demand, r.places) for r in rows)
    return _chart_svg(key, title, str(get_locale()))


@lru_cache(maxsize=64)
def _chart_svg(key: tuple[tuple[CareType, str, int, int], ...], title: str, locale: str) -> bytes:
    rows = [DemandRow(*k) for k in key]
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, max(3.0, 0.35 * len(rows) + 1.5)))
    FigureCanvasSVG(fig)
    ax = fig.add_subplot(1, 1, 1)
    labels = [f"{care_type_label(r.care_type)} · {r.district}" for r in rows]
    ys = list(range(len(rows)))
    h = 0.4
    ax.barh(
        [y - h / 2 for y in ys],
        [r.demand for r in rows],
        h,
        label=str(_l("Demand")),
        color="#1f5fa8",
        hatch="",
    )
    ax.barh(
        [y + h / 2 for y in ys],
        [r.places for r in rows],
        h,
        label=str(_l("Places")),
        color="#f0a030",
        hatch="//",
    )
    ax.set_yticks(ys, labels)
    ax.invert_yaxis()
    ax.set_xlabel(str(_l("Children / places")))
    if title:
        ax.set_title(title)
    ax.legend(loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    return buf.getvalue()


# --- service figures ------------------------------------------------------------------

MILESTONES = {
    "review": Status.IN_REVIEW,
    "release": Status.RELEASED,
    "offer": Status.OFFERED,
    "enrollment": Status.ENROLLED,
}
MILESTONE_LABELS = {
    "review": _l("to review"),
    "release": _l("to release"),
    "offer": _l("to offer"),
    "enrollment": _l("to enrollment"),
}


@dataclass
class Durations:
    n: int
    median: float | None
    p90: float | None


def _durations(values: list[float]) -> Durations:
    if not values:
        return Durations(0, None, None)
    values = sorted(values)
    p90 = values[min(len(values) - 1, max(0, int(round(0.9 * len(values) + 0.5)) - 1))]
    return Durations(len(values), round(pystats.median(values), 1), round(p90, 1))


@dataclass
class GroupFigures:
    """Figures for one group (a round, or a month of submission within a round)."""

    label: str
    applications: int = 0
    online: int = 0
    office: int = 0
    imported: int = 0
    offers: dict[str, int] = field(default_factory=dict)
    durations: dict[str, Durations] = field(default_factory=dict)

    @property
    def online_share(self) -> float | None:
        return round(100 * self.online / self.applications, 1) if self.applications else None


def service_figures() -> list[GroupFigures]:
    """Per round, and per month of submission within each round."""
    rounds = {r.id: r.name for r in db.session.scalars(select(Round)).all()}
    apps = db.session.execute(
        select(
            Application.id, Application.round_id, Application.source, Application.submitted_at
        ).where(Application.submitted_at.is_not(None))
    ).all()
    first_reached: dict[tuple[int, Status], datetime] = {}
    for app_id, to_status, at in db.session.execute(
        select(StatusEvent.application_id, StatusEvent.to_status, func.min(StatusEvent.created_at))
        .where(StatusEvent.to_status.in_(list(MILESTONES.values())))
        .group_by(StatusEvent.application_id, StatusEvent.to_status)
    ).all():
        if isinstance(at, str):  # SQLite returns min() of a timestamp as text
            at = datetime.fromisoformat(at)
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        first_reached[(app_id, Status(to_status))] = at
    offer_rows = db.session.execute(
        select(Application.id, Offer.status).join(Offer, Offer.application_id == Application.id)
    ).all()
    offers_by_app: dict[int, list[str]] = defaultdict(list)
    for app_id, status in offer_rows:
        offers_by_app[app_id].append(str(status))
    groups: dict[tuple[int, str], GroupFigures] = {}
    values: dict[tuple[int, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for app_id, round_id, source, submitted_at in apps:
        submitted: datetime = submitted_at  # type: ignore[assignment]  # filtered: not None
        month = submitted.strftime("%Y-%m")
        for key in ((round_id, ""), (round_id, month)):
            g = groups.get(key)
            if g is None:
                name = rounds.get(round_id, "?")
                g = groups[key] = GroupFigures(label=f"{name} · {month}" if key[1] else name)
            g.applications += 1
            src = Source(source)
            if src == Source.ONLINE:
                g.online += 1
            elif src == Source.OFFICE:
                g.office += 1
            else:
                g.imported += 1
            for st in offers_by_app.get(app_id, []):
                g.offers[st] = g.offers.get(st, 0) + 1
            for name, milestone in MILESTONES.items():
                reached = first_reached.get((app_id, milestone))
                if reached is not None:
                    values[key][name].append((reached - submitted).total_seconds() / 86400)
    result = []
    for key in sorted(groups, key=lambda k: (rounds.get(k[0], ""), k[1])):
        g = groups[key]
        g.durations = {name: _durations(values[key][name]) for name in MILESTONES}
        result.append(g)
    return result


def _cell(n: int | None) -> str:
    if n is None:
        return ""
    return f"<{MIN_CELL}" if n < MIN_CELL else str(n)


def service_figures_csv(groups: list[GroupFigures]) -> str:
    """Anonymised: no count below 5 is shown; durations of fewer than 5 are left out."""
    out = io.StringIO()
    w = csv.writer(out, delimiter=";")
    header = ["group", "applications", "online", "office", "import"]
    header += [
        f"offers_{s.value}"
        for s in (OfferStatus.ACCEPTED, OfferStatus.DECLINED, OfferStatus.EXPIRED)
    ]
    for name in MILESTONES:
        header += [f"days_to_{name}_n", f"days_to_{name}_median", f"days_to_{name}_p90"]
    w.writerow(header)
    for g in groups:
        row = [g.label, _cell(g.applications), _cell(g.online), _cell(g.office), _cell(g.imported)]
        row += [
            _cell(g.offers.get(s.value, 0))
            for s in (OfferStatus.ACCEPTED, OfferStatus.DECLINED, OfferStatus.EXPIRED)
        ]
        for name in MILESTONES:
            d = g.durations[name]
            shown = d.n >= MIN_CELL
            row += [
                _cell(d.n),
                "" if not shown or d.median is None else f"{d.median:.1f}",
                "" if not shown or d.p90 is None else f"{d.p90:.1f}",
            ]
        w.writerow(row)
    return out.getvalue()
