"""Applications: filing, editing, and the one state machine of an application.

Every station change goes through :func:`transition`: it checks who may trigger the
step and from which station, changes the status with a conditional update (two
clicks at once: one wins, the other gets ``Conflict``), writes a status event and an
audit entry, and queues the family's e-mail in the outbox, all in one transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from kita.errors import Conflict, InvalidTransition, NotAllowed, NotFound, ValidationFailed
from kita.extensions import db
from kita.models import (
    CLOSED_STATUSES,
    Application,
    ApplicationCriterion,
    CareType,
    Child,
    Facility,
    PriorityRule,
    ReferenceCounter,
    Role,
    Round,
    Source,
    Status,
    StatusEvent,
    User,
    Wish,
    utcnow,
)
from kita.services import audit, notifications
from kita.services.stations import station_label

S = Status
PARENT, OFFICE, FACILITY, ADMIN, SYSTEM = "parent", "office", "facility", "admin", "system"
_ANY_OPEN = frozenset(Status) - CLOSED_STATUSES


@dataclass(frozen=True)
class Transition:
    sources: frozenset[Status]
    target: Status
    actors: frozenset[str]
    notify: bool = True  # mail the family
    needs_message: bool = False  # a message to the parents is required


def _t(
    sources: set[Status] | frozenset[Status],
    target: Status,
    actors: set[str],
    notify: bool = True,
    needs_message: bool = False,
) -> Transition:
    return Transition(frozenset(sources), target, frozenset(actors), notify, needs_message)


#: The state machine: action → allowed stations, target station, who may trigger it.
TRANSITIONS: dict[str, Transition] = {
    "submit": _t({S.DRAFT}, S.SUBMITTED, {PARENT, OFFICE}),
    "start_review": _t({S.SUBMITTED}, S.IN_REVIEW, {OFFICE}),
    "ask_back": _t({S.IN_REVIEW}, S.QUERY, {OFFICE}, needs_message=True),
    "answer": _t({S.QUERY}, S.IN_REVIEW, {PARENT, OFFICE}, notify=False, needs_message=True),
    "release": _t({S.IN_REVIEW}, S.RELEASED, {OFFICE}),
    "reject": _t({S.SUBMITTED, S.IN_REVIEW, S.QUERY}, S.REJECTED, {OFFICE}, needs_message=True),
    "merge": _t({S.SUBMITTED, S.IN_REVIEW, S.QUERY}, S.WITHDRAWN, {OFFICE}, needs_message=True),
    "offer": _t({S.RELEASED, S.WAITLIST, S.ACCEPTED_WAITING}, S.OFFERED, {OFFICE, SYSTEM}),
    "waitlist": _t({S.RELEASED}, S.WAITLIST, {OFFICE, SYSTEM}),
    "accept": _t({S.OFFERED}, S.ACCEPTED, {PARENT, OFFICE}),
    "accept_and_wait": _t({S.OFFERED}, S.ACCEPTED_WAITING, {PARENT, OFFICE}),
    "stop_waiting": _t({S.ACCEPTED_WAITING}, S.ACCEPTED, {PARENT, OFFICE}),
    "decline": _t({S.OFFERED}, S.DECLINED, {PARENT, OFFICE}),
    # a family holding an accepted place declines or lets expire an upgrade offer
    "decline_upgrade": _t({S.OFFERED}, S.ACCEPTED_WAITING, {PARENT, OFFICE}),
    "expire": _t({S.OFFERED}, S.EXPIRED, {SYSTEM, OFFICE}),
    "expire_upgrade": _t({S.OFFERED}, S.ACCEPTED_WAITING, {SYSTEM, OFFICE}),
    "enroll": _t({S.ACCEPTED, S.ACCEPTED_WAITING}, S.ENROLLED, {FACILITY, OFFICE}),
    "enrollment_refused": _t(
        {S.ACCEPTED, S.ACCEPTED_WAITING}, S.WAITLIST, {FACILITY, OFFICE}, needs_message=True
    ),
    "withdraw": _t(_ANY_OPEN - {S.DRAFT}, S.WITHDRAWN, {PARENT, OFFICE, SYSTEM}),
    "discard_draft": _t({S.DRAFT}, S.WITHDRAWN, {PARENT, OFFICE}, notify=False),
}

#: stations while the family may still edit its application
EDITABLE = frozenset({S.DRAFT, S.SUBMITTED})


def actor_kind(actor: User | None) -> str:
    if actor is None:
        return SYSTEM
    return {Role.PARENT: PARENT, Role.OFFICE: OFFICE, Role.FACILITY: FACILITY}.get(
        actor.role, ADMIN
    )


def allowed_actions(application: Application, actor: User | None) -> list[str]:
    kind = actor_kind(actor)
    return [
        name
        for name, t in TRANSITIONS.items()
        if application.status in t.sources and kind in t.actors
    ]


def transition(
    application: Application,
    action: str,
    actor: User | None,
    *,
    message: str | None = None,
    commit: bool = True,
    expected: Status | None = None,
    notify: bool | None = None,
    mail_kind: str = "status_changed",
    **mail_context: Any,
) -> StatusEvent:
    """Move ``application`` by ``action``; see the module docstring."""
    t = TRANSITIONS.get(action)
    if t is None:
        raise InvalidTransition(f"unknown action {action!r}")
    if actor_kind(actor) not in t.actors:
        raise NotAllowed(str(_l("You may not do this.")))
    message = (message or "").strip() or None
    if t.needs_message and not message:
        raise ValidationFailed({"message": [str(_l("Please enter a message."))]})
    db.session.flush()
    current = expected or application.status
    if current not in t.sources or application.status != current:
        raise InvalidTransition(
            str(
                _l(
                    "This step is not possible at the station “%(station)s”.",
                    station=station_label(application.status),
                )
            )
        )
    now = utcnow()
    values: dict[str, Any] = {
        "status": t.target,
        "status_changed_at": now,
        "version": Application.version + 1,
    }
    if t.target in CLOSED_STATUSES:
        values["closed_at"] = now
    if action == "submit":
        values["submitted_at"] = now
    changed = db.session.execute(
        update(Application)
        .where(
            Application.id == application.id,
            Application.status == current,
            Application.version == application.version,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if changed != 1:
        db.session.rollback()
        raise Conflict(str(_l("Somebody else changed this application first. Please reload.")))
    db.session.expire(application, list(values) + ["version"])
    event = StatusEvent(
        application_id=application.id,
        action=action,
        from_status=current,
        to_status=t.target,
        actor_id=actor.id if actor is not None else None,
        message=message,
        created_at=now,
    )
    db.session.add(event)
    audit.record(
        actor,
        f"application.{action}",
        application,
        reference=application.reference,
        from_status=str(current),
        to_status=str(t.target),
    )
    if t.notify if notify is None else notify:
        notify_family(application, t.target, message, mail_kind=mail_kind, **mail_context)
    if commit:
        db.session.commit()
    return event


def notify_family(
    application: Application,
    status: Status,
    message: str | None,
    mail_kind: str = "status_changed",
    **context: Any,
) -> None:
    notifications.mail_family(
        mail_kind,
        application,
        station=status,
        message=message,
        url=notifications.external_url("parents.application", app_id=application.id),
        **context,
    )


# --- filing ------------------------------------------------------------------------


def next_reference(year: int) -> str:
    """KV-<year>-<number>, numbered without gaps per year, safe under concurrency."""
    row = db.session.execute(
        update(ReferenceCounter)
        .where(ReferenceCounter.year == year)
        .values(last_number=ReferenceCounter.last_number + 1)
        .returning(ReferenceCounter.last_number)
    ).first()
    if row is None:
        db.session.add(ReferenceCounter(year=year, last_number=1))
        db.session.flush()
        number = 1
    else:
        number = row[0]
    return f"KV-{year}-{number:05d}"


def allowed_care_types(birth_date: date, start: date) -> list[CareType]:
    """Care types a child of this age at ``start`` can get (a newborn is never in Hort)."""
    months = (start.year - birth_date.year) * 12 + start.month - birth_date.month
    if start.day < birth_date.day:
        months -= 1
    allowed = []
    if 0 <= months < 36:
        allowed.append(CareType.KRIPPE)
    if 30 <= months < 84:
        allowed.append(CareType.KINDERGARTEN)
    if 66 <= months < 14 * 12:
        allowed.append(CareType.HORT)
    return allowed


def suggested_care_type(birth_date: date, start: date) -> CareType | None:
    months = (start.year - birth_date.year) * 12 + start.month - birth_date.month
    if start.day < birth_date.day:
        months -= 1
    if months < 0:
        return None
    if months < 36:
        return CareType.KRIPPE
    if months < 72:
        return CareType.KINDERGARTEN
    if months < 14 * 12:
        return CareType.HORT
    return None


@dataclass
class ApplicationInput:
    """What a family (or the office on its behalf) fills in."""

    child_id: int
    round_id: int
    start_date: date
    care_type: CareType | str
    weekly_hours: int
    wishes: list[int]  # facility ids, best first
    criteria: list[tuple[int, int | None]] = field(default_factory=list)  # (rule, facility)
    remarks: str = ""


MAX_REMARKS = 2000


def open_application_for(child: Child, round_: Round) -> Application | None:
    return db.session.scalar(
        select(Application).where(
            Application.child_id == child.id,
            Application.round_id == round_.id,
            Application.status.notin_(CLOSED_STATUSES),
        )
    )


def validate_input(
    data: ApplicationInput, child: Child, round_: Round, existing: Application | None = None
) -> tuple[CareType, list[Facility], list[tuple[PriorityRule, int | None]]]:
    """Check the business rules; raise ``ValidationFailed`` with messages per field."""
    errors: dict[str, list[str]] = {}

    def err(name: str, msg: Any) -> None:
        errors.setdefault(name, []).append(str(msg))

    if data.start_date < date.today():
        err("start_date", _l("The start date must not be in the past."))
    if not (round_.care_start_from <= data.start_date <= round_.care_start_to):
        err(
            "start_date",
            _l(
                "This round covers start dates from %(a)s to %(b)s.",
                a=round_.care_start_from.strftime("%d.%m.%Y"),
                b=round_.care_start_to.strftime("%d.%m.%Y"),
            ),
        )
    try:
        care_type = CareType(data.care_type)
    except ValueError:
        err("care_type", _l("Please choose a care type."))
        care_type = CareType.KRIPPE
    else:
        if care_type not in allowed_care_types(child.birth_date, data.start_date):
            err("care_type", _l("This care type does not fit the child's age at the start date."))
    wish_ids = [w for w in data.wishes if w]
    facilities: list[Facility] = []
    if not wish_ids:
        err("wish_1", _l("Please choose at least your first wish."))
    elif len(wish_ids) > 5:
        err("wish_1", _l("At most five wishes, please."))
    elif len(set(wish_ids)) != len(wish_ids):
        err("wish_1", _l("Each facility can be chosen only once."))
    else:
        found = {
            f.id: f
            for f in db.session.scalars(select(Facility).where(Facility.id.in_(wish_ids))).all()
        }
        for i, fid in enumerate(wish_ids, start=1):
            fac = found.get(fid)
            if fac is None or not fac.active:
                err(f"wish_{i}", _l("Please choose a facility from the list."))
                continue
            offer = fac.offers(care_type)
            if offer is None:
                err(f"wish_{i}", _l("%(name)s does not offer this care type.", name=fac.name))
                continue
            if not (offer.min_hours <= data.weekly_hours <= offer.max_hours):
                err(
                    "weekly_hours",
                    _l(
                        "%(name)s offers %(a)d to %(b)d hours per week.",
                        name=fac.name,
                        a=offer.min_hours,
                        b=offer.max_hours,
                    ),
                )
            facilities.append(fac)
    if not (1 <= data.weekly_hours <= 60):
        err("weekly_hours", _l("Please enter between 1 and 60 hours."))
    if len(data.remarks or "") > MAX_REMARKS:
        err("remarks", _l("At most %(n)d characters, please.", n=MAX_REMARKS))
    rules: list[tuple[PriorityRule, int | None]] = []
    seen: set[tuple[int, int | None]] = set()
    for rule_id, facility_id in data.criteria:
        rule = db.session.get(PriorityRule, rule_id)
        if rule is None or not rule.active:
            err("criteria", _l("Unknown criterion."))
            continue
        if rule.facility_specific:
            if facility_id not in wish_ids:
                err("criteria", _l("This criterion must name one of your wishes."))
                continue
        else:
            facility_id = None
        if (rule.id, facility_id) in seen:
            continue
        seen.add((rule.id, facility_id))
        rules.append((rule, facility_id))
    other = open_application_for(child, round_)
    if other is not None and (existing is None or other.id != existing.id):
        err(
            "child_id",
            _l(
                "There is already an open application (%(ref)s) for this child in this round.",
                ref=other.reference,
            ),
        )
    if errors:
        raise ValidationFailed(errors)
    return care_type, facilities, rules


def _apply(
    application: Application,
    data: ApplicationInput,
    care_type: CareType,
    facilities: list[Facility],
    rules: list[tuple[PriorityRule, int | None]],
) -> None:
    application.start_date = data.start_date
    application.care_type = care_type
    application.weekly_hours = data.weekly_hours
    application.remarks = (data.remarks or "").strip()
    application.wishes.clear()
    application.criteria.clear()
    db.session.flush()
    for rank, fac in enumerate(facilities, start=1):
        application.wishes.append(Wish(facility_id=fac.id, rank=rank))
    for rule, facility_id in rules:
        application.criteria.append(ApplicationCriterion(rule_id=rule.id, facility_id=facility_id))


def create(
    actor: User,
    child: Child,
    round_: Round,
    data: ApplicationInput,
    *,
    submit: bool = False,
    sibling_group: str | None = None,
    commit: bool = True,
) -> Application:
    """A new application as draft (or submitted at once)."""
    care_type, facilities, rules = validate_input(data, child, round_)
    application = Application(
        reference=next_reference(round_.care_start_from.year),
        child_id=child.id,
        round_id=round_.id,
        status=Status.DRAFT,
        care_type=care_type,
        start_date=data.start_date,
        source=Source.ONLINE if actor.role == Role.PARENT else Source.OFFICE,
        created_by_id=actor.id,
        sibling_group=sibling_group,
    )
    application.child = child
    db.session.add(application)
    _apply(application, data, care_type, facilities, rules)
    db.session.flush()
    db.session.add(
        StatusEvent(
            application_id=application.id,
            action="create",
            from_status=None,
            to_status=Status.DRAFT,
            actor_id=actor.id,
        )
    )
    audit.record(actor, "application.create", application, reference=application.reference)
    if submit:
        transition(application, "submit", actor, commit=False)
    if commit:
        db.session.commit()
    return application


def update_application(actor: User, application: Application, data: ApplicationInput) -> None:
    """Edit while the office has not started the review."""
    if application.status not in EDITABLE:
        raise InvalidTransition(str(_l("The application can no longer be changed.")))
    care_type, facilities, rules = validate_input(
        data, application.child, application.round, existing=application
    )
    _apply(application, data, care_type, facilities, rules)
    audit.record(actor, "application.edit", application, reference=application.reference)
    db.session.commit()


# --- parents' use cases ------------------------------------------------------------


def submit(actor: User, application: Application) -> StatusEvent:
    """Submit a draft, checking the stored input again (dates may have passed)."""
    if application.status != Status.DRAFT:
        raise InvalidTransition(str(_l("The application can no longer be changed.")))
    data = input_of(application)
    validate_input(data, application.child, application.round, existing=application)
    return transition(application, "submit", actor)


def input_of(application: Application) -> ApplicationInput:
    """The stored application as input (to re-validate or to pre-fill a form)."""
    return ApplicationInput(
        child_id=application.child_id,
        round_id=application.round_id,
        start_date=application.start_date,
        care_type=application.care_type,
        weekly_hours=application.weekly_hours or 0,
        wishes=[w.facility_id for w in application.wishes],
        criteria=[(c.rule_id, c.facility_id) for c in application.criteria],
        remarks=application.remarks or "",
    )


def create_for_siblings(
    actor: User,
    children: list[Child],
    round_: Round,
    data: ApplicationInput,
    *,
    place_together: bool = False,
    submit: bool = False,
) -> list[Application]:
    """File the same wishes for several children of one household in one go.

    With ``place_together`` all applications share one ``sibling_group`` key, which the
    allocation treats as "place these children at the same facility". All or nothing:
    one child's error (e.g. the care type does not fit its age) saves none of them.
    """
    if not children:
        raise ValidationFailed({"child_id": [str(_l("Please choose a child."))]})
    households = {c.household_id for c in children}
    if len(households) != 1 or len({c.id for c in children}) != len(children):
        raise ValidationFailed({"child_id": [str(_l("Please choose a child."))]})
    group = f"sib-{uuid.uuid4().hex[:20]}" if place_together and len(children) > 1 else None
    errors: dict[str, list[str]] = {}
    applications = []
    for child in children:
        child_data = replace(data, child_id=child.id)
        care_type = data.care_type
        if not care_type:
            suggested = suggested_care_type(child.birth_date, data.start_date)
            care_type = suggested.value if suggested else ""
        child_data = replace(child_data, care_type=care_type)
        try:
            validate_input(child_data, child, round_)
        except ValidationFailed as exc:
            for name, messages in exc.errors.items():
                for msg in messages:
                    text = f"{child.first_name}: {msg}" if len(children) > 1 else msg
                    if text not in errors.get(name, []):
                        errors.setdefault(name, []).append(text)
            continue
        applications.append((child, child_data))
    if errors:
        raise ValidationFailed(errors)
    created = []
    try:
        for child, child_data in applications:
            created.append(
                create(
                    actor,
                    child,
                    round_,
                    child_data,
                    submit=submit,
                    sibling_group=group,
                    commit=False,
                )
            )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return created


def answer(actor: User, application: Application, message: str) -> StatusEvent:
    """The family answers the office's query; the application goes back to review."""
    message = (message or "").strip()
    if len(message) > MAX_REMARKS:
        raise ValidationFailed(
            {"message": [str(_l("At most %(n)d characters, please.", n=MAX_REMARKS))]}
        )
    return transition(application, "answer", actor, message=message)


def withdraw(actor: User | None, application: Application, message: str | None = None) -> None:
    """Withdraw (or discard a draft). An accepted place is released in the same transaction."""
    from kita.models import Offer, OfferStatus

    action = "discard_draft" if application.status == Status.DRAFT else "withdraw"
    now = utcnow()
    try:
        transition(application, action, actor, message=message, commit=False)
        for offer in db.session.scalars(
            select(Offer).where(
                Offer.application_id == application.id,
                Offer.status.in_([OfferStatus.ACCEPTED, OfferStatus.OPEN]),
            )
        ).all():
            old = offer.status
            offer.status = (
                OfferStatus.RELEASED if old == OfferStatus.ACCEPTED else OfferStatus.DECLINED
            )
            offer.answered_at = offer.answered_at or now
            audit.record(
                actor,
                "offer.released" if old == OfferStatus.ACCEPTED else "offer.declined",
                offer,
                reference=application.reference,
                reason="withdrawn",
            )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise


def get_application(app_id: int) -> Application:
    application = db.session.get(Application, app_id)
    if application is None:
        raise NotFound("not found")
    return application
