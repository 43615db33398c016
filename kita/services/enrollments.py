"""The facility staff's desk: what a facility sees, enrollment confirmation or refusal,
free places reported for the next round.

A facility sees only applications that name it (a wish) or that got an offer from it;
once a child is enrolled elsewhere, the other facilities lose sight of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from kita.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from kita.extensions import db
from kita.models import (
    Application,
    Capacity,
    Enrollment,
    EnrollmentStatus,
    Facility,
    Offer,
    OfferStatus,
    Round,
    Status,
    User,
    Wish,
    utcnow,
)
from kita.services import audit, points
from kita.services.applications import transition
from kita.services.permissions import facility_sees

#: applications still looking for a place that name the facility
APPLICANT_STATUSES = (Status.RELEASED, Status.WAITLIST, Status.OFFERED, Status.ACCEPTED_WAITING)


@dataclass
class ApplicantRow:
    application: Application
    rank: int
    points: int
    age: tuple[int, int]
    offer_here: Offer | None


@dataclass
class Desk:
    facility: Facility
    applicants: list[ApplicantRow]
    offers: list[Offer]
    awaiting: list[Offer]  # accepted places without the facility's answer
    enrolled: list[Offer]


def _age(application: Application) -> tuple[int, int]:
    return application.child.age_on(application.start_date)


#: what the desk, ``facility_sees`` and the points touch for each application
_APPLICATION_ROWS = (
    selectinload(Application.child),
    selectinload(Application.offers),
    selectinload(Application.wishes),
    selectinload(Application.criteria),
)


def desk(facility: Facility, round_id: int | None = None) -> Desk:
    """Everything the facility's staff sees on their page."""
    q = (
        select(Application, Wish.rank)
        .join(Wish, Wish.application_id == Application.id)
        .where(Wish.facility_id == facility.id, Application.status.in_(APPLICANT_STATUSES))
        .order_by(Application.care_type, Application.reference)
        .options(*_APPLICATION_ROWS)
    )
    if round_id is not None:
        q = q.where(Application.round_id == round_id)
    applicants = []
    for app, rank in db.session.execute(q).all():
        here = next(
            (
                o
                for o in app.offers
                if o.facility_id == facility.id and o.status == OfferStatus.OPEN
            ),
            None,
        )
        applicants.append(
            ApplicantRow(
                application=app,
                rank=rank,
                points=points.for_application(app).get(facility.id, 0),
                age=_age(app),
                offer_here=here,
            )
        )
    oq = (
        select(Offer)
        .where(Offer.facility_id == facility.id)
        .order_by(Offer.id.desc())
        .options(
            selectinload(Offer.enrollment),
            selectinload(Offer.application).options(
                selectinload(Application.child),
                selectinload(Application.offers),
                selectinload(Application.wishes),
            ),
        )
    )
    all_offers = [o for o in db.session.scalars(oq).all() if visible_offer(o)]
    if round_id is not None:
        all_offers = [o for o in all_offers if o.application.round_id == round_id]
    awaiting = [
        o
        for o in all_offers
        if o.status == OfferStatus.ACCEPTED
        and o.enrollment is None
        and o.application.status in (Status.ACCEPTED, Status.ACCEPTED_WAITING)
    ]
    enrolled = [
        o
        for o in all_offers
        if o.enrollment is not None and o.enrollment.status == EnrollmentStatus.CONFIRMED
    ]
    return Desk(facility, applicants, all_offers, awaiting, enrolled)


def visible_offer(offer: Offer) -> bool:
    """An offer of this facility stays visible unless the child is enrolled elsewhere."""
    return facility_sees(offer.application, offer.facility_id)


def offer_for_facility(offer_id: int, facility_id: int | None) -> Offer:
    offer = db.session.get(Offer, offer_id)
    if offer is None or facility_id is None or offer.facility_id != facility_id:
        raise NotFound("offer")
    if not visible_offer(offer):
        raise NotFound("offer")
    return offer


def _check(offer: Offer) -> None:
    if offer.status != OfferStatus.ACCEPTED or offer.enrollment is not None:
        raise InvalidTransition(str(_l("This place is not waiting for an enrollment.")))


def confirm(actor: User, offer: Offer) -> Enrollment:
    """ "Aufnahme bestätigen": the care contract is signed; the application is closed."""
    return _answer(actor, offer, EnrollmentStatus.CONFIRMED)


def _answer(
    actor: User, offer: Offer, status: EnrollmentStatus, reason: str | None = None
) -> Enrollment:
    """Store the facility's answer and move the application on, in one transaction."""
    _check(offer)
    app = offer.application
    try:
        enrollment = Enrollment(
            offer_id=offer.id,
            facility_id=offer.facility_id,
            status=status,
            reason=reason,
            decided_by_id=actor.id,
        )
        db.session.add(enrollment)
        db.session.flush()
        if status == EnrollmentStatus.CONFIRMED:
            offer.keeps_waiting = False
            audit.record(actor, "enrollment.confirm", offer, reference=app.reference)
            transition(app, "enroll", actor, commit=False)
        else:
            offer.status = OfferStatus.RELEASED
            app.flagged = True
            app.flag_reason = reason
            audit.record(actor, "enrollment.refuse", offer, reference=app.reference)
            transition(app, "enrollment_refused", actor, message=reason, commit=False)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(str(_l("This place has already been answered."))) from None
    except Exception:
        db.session.rollback()
        raise
    return enrollment


def refuse(actor: User, offer: Offer, reason: str) -> Enrollment:
    """ "Aufnahme nicht möglich": the place and the application go back to the office,
    which sees the application flagged; the family is on the waiting list again."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": [str(_l("Please give a reason."))]})
    if len(reason) > 2000:
        raise ValidationFailed({"reason": [str(_l("At most %(n)d characters, please.", n=2000))]})
    return _answer(actor, offer, EnrollmentStatus.REFUSED, reason)


def report_round(today: date | None = None) -> Round | None:
    """The round whose capacities the facility reports free places for (the latest open)."""
    return db.session.scalar(
        select(Round)
        .where(Round.closed_at.is_(None))
        .order_by(Round.care_start_from.desc())
        .limit(1)
    )


def capacities(facility: Facility, round_: Round) -> list[Capacity]:
    return list(
        db.session.scalars(
            select(Capacity)
            .where(Capacity.facility_id == facility.id, Capacity.round_id == round_.id)
            .order_by(Capacity.care_type)
        ).all()
    )


def report_free(actor: User, facility: Facility, round_: Round, free: dict[str, int]) -> None:
    """Store the free places per care type the facility reports for the next round."""
    errors: dict[str, list[str]] = {}
    caps = {str(c.care_type): c for c in capacities(facility, round_)}
    for ct, n in free.items():
        if ct not in caps:
            continue
        if n < 0 or n > 1000:
            errors.setdefault(f"free_{ct}", []).append(
                str(_l("Please enter a number between 0 and 1000."))
            )
    if errors:
        raise ValidationFailed(errors)
    for ct, n in free.items():
        if ct in caps:
            caps[ct].reported_free = n
    audit.record(actor, "capacity.report_free", facility, round_id=round_.id, free=free)
    db.session.commit()


DEFAULT_CONFIRM_DAYS = 28


def confirm_days() -> int:
    """Days the office allows between acceptance and the facility's enrollment answer."""
    from flask import current_app

    from kita.services import settings

    value = settings.get("enrollment_confirm_days")
    try:
        return (
            int(value)
            if value
            else int(current_app.config.get("ENROLLMENT_CONFIRM_DAYS", DEFAULT_CONFIRM_DAYS))
        )
    except ValueError:
        return DEFAULT_CONFIRM_DAYS


def flag_overdue(now: datetime | None = None, days: int | None = None) -> int:
    """Flag to the office accepted places without an enrollment answer after ``days``
    (the office's setting ``enrollment_confirm_days``); for the scheduler."""
    now = now or utcnow()
    days = confirm_days() if days is None else days
    limit = now - timedelta(days=days)
    overdue = db.session.scalars(
        select(Offer).where(
            Offer.status == OfferStatus.ACCEPTED,
            Offer.answered_at < limit,
            ~Offer.enrollment.has(),
        )
    ).all()
    count = 0
    for offer in overdue:
        app = offer.application
        if app.flagged or app.status not in (Status.ACCEPTED, Status.ACCEPTED_WAITING):
            continue
        app.flagged = True
        app.flag_reason = f"enrollment not confirmed by {offer.facility.name} within {days} days"
        audit.record(None, "enrollment.overdue", app, reference=app.reference, days=days)
        count += 1
    db.session.commit()
    return count
