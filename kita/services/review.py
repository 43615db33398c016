"""The office's review of applications: list and filter, verify criteria, the review
actions (start review, ask back, release, reject, merge a duplicate), bulk release and
internal notes. Every station change goes through ``applications.transition``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from kita.errors import InvalidTransition, NotFound, ValidationFailed
from kita.extensions import db
from kita.models import (
    Application,
    ApplicationCriterion,
    CareType,
    Child,
    Household,
    InternalNote,
    Status,
    StatusEvent,
    User,
    Wish,
    utcnow,
)
from kita.services import audit
from kita.services.applications import transition

#: the office's review actions and the station changes behind them
REVIEW_ACTIONS = ("start_review", "ask_back", "release", "reject")
#: stations in which the office may tick criteria as verified
VERIFY_STATIONS = frozenset({Status.SUBMITTED, Status.IN_REVIEW, Status.QUERY})
MAX_NOTE = 4000
PAGE_SIZE = 50

SORTS: dict[str, Any] = {
    "submitted": Application.submitted_at,
    "reference": Application.reference,
    "name": Child.last_name,
    "status": Application.status,
    "waiting": Application.status_changed_at,
}


@dataclass
class Filters:
    """The application list's filters (all optional); also used by bulk release and exports."""

    round_id: int | None = None
    status: Status | None = None
    care_type: CareType | None = None
    facility_id: int | None = None
    district: str | None = None
    rule_id: int | None = None
    submitted_from: date | None = None
    submitted_to: date | None = None
    q: str = ""
    sort: str = "submitted"
    descending: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def filtered(filters: Filters, stmt: Select[Any] | None = None) -> Select[Any]:
    """A select of applications (joined with child and household) matching ``filters``."""
    stmt = stmt if stmt is not None else select(Application)
    stmt = stmt.join(Child, Application.child_id == Child.id).join(
        Household, Child.household_id == Household.id
    )
    stmt = stmt.where(Application.status != Status.DRAFT)
    if filters.round_id:
        stmt = stmt.where(Application.round_id == filters.round_id)
    if filters.status:
        stmt = stmt.where(Application.status == filters.status)
    if filters.care_type:
        stmt = stmt.where(Application.care_type == filters.care_type)
    if filters.facility_id:
        stmt = stmt.where(
            exists().where(
                Wish.application_id == Application.id, Wish.facility_id == filters.facility_id
            )
        )
    if filters.district:
        stmt = stmt.where(Household.district == filters.district)
    if filters.rule_id:
        stmt = stmt.where(
            exists().where(
                ApplicationCriterion.application_id == Application.id,
                ApplicationCriterion.rule_id == filters.rule_id,
                ApplicationCriterion.declared.is_(True),
            )
        )
    if filters.submitted_from:
        stmt = stmt.where(Application.submitted_at >= _day_start(filters.submitted_from))
    if filters.submitted_to:
        stmt = stmt.where(
            Application.submitted_at < _day_start(filters.submitted_to + timedelta(days=1))
        )
    q = (filters.q or "").strip()
    if q:
        like = f"%{q.lower()}%"
        words = [w for w in q.lower().split() if w]
        name_match = and_(
            *[
                or_(
                    func.lower(Child.first_name).like(f"%{w}%"),
                    func.lower(Child.last_name).like(f"%{w}%"),
                )
                for w in words
            ]
        )
        stmt = stmt.where(or_(func.lower(Application.reference).like(like), name_match))
    return stmt


@dataclass
class Page:
    items: list[Application]
    total: int
    page: int
    pages: int


def search(filters: Filters, page: int = 1, per_page: int = PAGE_SIZE) -> Page:
    """One page of the filtered list; a fixed number of queries whatever the page holds."""
    total = db.session.scalar(filtered(filters, select(func.count(Application.id)))) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    column = SORTS.get(filters.sort, Application.submitted_at)
    order = [column.desc() if filters.descending else column.asc(), Application.id]
    stmt = (
        filtered(filters)
        .options(
            joinedload(Application.child).joinedload(Child.household),
            selectinload(Application.wishes).joinedload(Wish.facility),
        )
        .order_by(*order)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    items = list(db.session.scalars(stmt).unique().all())
    return Page(items=items, total=total, page=page, pages=pages)


def load_detail(app_id: int) -> Application:
    """An application with everything the detail page shows, in a few queries."""
    application = db.session.scalar(
        select(Application)
        .where(Application.id == app_id)
        .options(
            joinedload(Application.child)
            .joinedload(Child.household)
            .selectinload(Household.guardians),
            selectinload(Application.wishes).joinedload(Wish.facility),
            selectinload(Application.criteria).joinedload(ApplicationCriterion.rule),
            selectinload(Application.events).joinedload(StatusEvent.actor),
            selectinload(Application.notes).joinedload(InternalNote.author),
            selectinload(Application.offers),
        )
    )
    if application is None:
        raise NotFound(str(_l("Not found.")))
    return application


def record_view(actor: User, application: Application) -> None:
    """Every view of an application's detail by staff is audited."""
    audit.record_now(actor, "application.view", application, reference=application.reference)


def duplicates(application: Application) -> list[Application]:
    """Other applications for a child with the same name and birth date (any household)."""
    child = application.child
    return list(
        db.session.scalars(
            select(Application)
            .join(Child, Application.child_id == Child.id)
            .where(
                Application.id != application.id,
                Application.status != Status.DRAFT,
                func.lower(Child.first_name) == child.first_name.lower(),
                func.lower(Child.last_name) == child.last_name.lower(),
                Child.birth_date == child.birth_date,
            )
            .options(joinedload(Application.child))
            .order_by(Application.id)
        ).all()
    )


# --- actions ------------------------------------------------------------------------


def verify_criteria(actor: User, application: Application, verified_ids: set[int]) -> None:
    """Tick exactly the criteria in ``verified_ids`` as verified (only those count)."""
    if application.status not in VERIFY_STATIONS:
        raise InvalidTransition(str(_l("Criteria can only be verified during the review.")))
    now = utcnow()
    changes = []
    for criterion in application.criteria:
        want = criterion.id in verified_ids
        if criterion.verified != want:
            criterion.verified = want
            criterion.verified_by_id = actor.id if want else None
            criterion.verified_at = now if want else None
            changes.append(
                {"rule": criterion.rule_id, "facility": criterion.facility_id, "verified": want}
            )
    if changes:
        audit.record(
            actor,
            "application.verify_criteria",
            application,
            reference=application.reference,
            changes=changes,
        )
    db.session.commit()


def act(
    actor: User, application: Application, action: str, message: str | None = None
) -> StatusEvent:
    """One of the review actions, with its message to the parents."""
    if action not in REVIEW_ACTIONS:
        raise InvalidTransition(f"unknown review action {action!r}")
    if action == "reject":
        if not (message or "").strip():
            raise ValidationFailed(
                {"message": [str(_l("Please give the reason for the rejection."))]}
            )
        application.reject_reason = message.strip() if message else None
    return transition(application, action, actor, message=message)


def merge(actor: User, duplicate: Application, keeper: Application, message: str | None) -> None:
    """Close ``duplicate`` as merged into ``keeper`` (the family is told why)."""
    if duplicate.id == keeper.id:
        raise ValidationFailed({"target": [str(_l("Choose another application."))]})
    if keeper.status == Status.DRAFT or not keeper.is_open:
        raise ValidationFailed({"target": [str(_l("The application to keep must be open."))]})
    c1, c2 = duplicate.child, keeper.child
    same = (
        c1.first_name.lower() == c2.first_name.lower()
        and c1.last_name.lower() == c2.last_name.lower()
        and c1.birth_date == c2.birth_date
    )
    if not same:
        raise ValidationFailed({"target": [str(_l("This is not a duplicate of the application."))]})
    if not (message or "").strip():
        message = str(
            _l("This application was merged with application %(ref)s.", ref=keeper.reference)
        )
    duplicate.merged_into_id = keeper.id
    audit.record(
        actor,
        "application.merged_into",
        duplicate,
        reference=duplicate.reference,
        keeper=keeper.reference,
    )
    transition(duplicate, "merge", actor, message=message)


def bulk_release(actor: User, filters: Filters, message: str | None = None) -> int:
    """Release every application of the filtered selection that is in review."""
    sel = Filters(**{**filters.__dict__, "status": Status.IN_REVIEW})
    ids = list(db.session.scalars(filtered(sel, select(Application.id))).all())
    count = 0
    for chunk_start in range(0, len(ids), 500):
        chunk = ids[chunk_start : chunk_start + 500]
        apps = db.session.scalars(
            select(Application)
            .where(Application.id.in_(chunk))
            .options(
                joinedload(Application.child).joinedload(Child.household).joinedload(Household.user)
            )
        ).all()
        for application in apps:
            if application.status != Status.IN_REVIEW:
                continue
            transition(application, "release", actor, message=message, commit=False)
            count += 1
    audit.record(actor, "application.bulk_release", None, object_type="application", count=count)
    db.session.commit()
    return count


def add_note(actor: User, application: Application, text: str) -> InternalNote:
    text = (text or "").strip()
    if not text:
        raise ValidationFailed({"text": [str(_l("Please fill in this field."))]})
    if len(text) > MAX_NOTE:
        raise ValidationFailed({"text": [str(_l("At most %(n)d characters, please.", n=MAX_NOTE))]})
    note = InternalNote(application_id=application.id, author_id=actor.id, text=text)
    db.session.add(note)
    audit.record(actor, "application.note", application, reference=application.reference)
    db.session.commit()
    return note
