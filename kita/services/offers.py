"""Place offers: making them, the family's answer, expiry and alternative offers.

Each answer is a conditional update on the offer (``WHERE status = 'open'``) in the
same transaction as the application's transition, so two clicks at once give exactly
one answer; the other one gets ``Conflict``.

A place counts as taken at (facility, care type) while an offer for it is open or
accepted (an enrolled child keeps its accepted offer); declined, expired, released and
withdrawn offers free it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload, selectinload

from kita.errors import CapacityExceeded, Conflict, InvalidTransition, NotAllowed
from kita.extensions import db
from kita.models import (
    AllocationRun,
    Application,
    Capacity,
    CareType,
    Child,
    Facility,
    Offer,
    OfferStatus,
    Role,
    Round,
    Status,
    User,
    utcnow,
)
from kita.services import audit
from kita.services.applications import transition

#: offer states that occupy a place
TAKING = (OfferStatus.OPEN, OfferStatus.ACCEPTED)


def open_offer(application: Application) -> Offer | None:
    """The offer waiting for the family's answer, if any."""
    return db.session.scalar(
        select(Offer).where(
            Offer.application_id == application.id, Offer.status == OfferStatus.OPEN
        )
    )


def open_offers(applications: list[Application]) -> dict[int, Offer]:
    """``open_offer`` for many applications in one query: application id -> open offer."""
    if not applications:
        return {}
    found = db.session.scalars(
        select(Offer)
        .where(
            Offer.application_id.in_([a.id for a in applications]),
            Offer.status == OfferStatus.OPEN,
        )
        .options(joinedload(Offer.facility))
    ).all()
    return {o.application_id: o for o in found}


def held_offer(application: Application) -> Offer | None:
    """The accepted place the family holds (while waiting for a better wish, or for good)."""
    return db.session.scalar(
        select(Offer)
        .where(Offer.application_id == application.id, Offer.status == OfferStatus.ACCEPTED)
        .order_by(Offer.id.desc())
    )


def can_keep_waiting(offer: Offer) -> bool:
    """Accepting and waiting for a better wish makes sense below the first wish only."""
    return offer.wish_rank != 1


def _check_actor(actor: User | None, application: Application) -> None:
    if actor is not None and actor.role == Role.PARENT:
        if application.child.household.user_id != actor.id:
            raise NotAllowed(str(_l("You may not do this.")))


def _claim(offer: Offer, status: OfferStatus, keep_waiting: bool = False) -> None:
    now = utcnow()
    if offer.deadline < now:
        raise InvalidTransition(str(_l("The deadline for this offer has passed.")))
    changed = db.session.execute(
        update(Offer)
        .where(Offer.id == offer.id, Offer.status == OfferStatus.OPEN)
        .values(status=status, answered_at=now, keeps_waiting=keep_waiting)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if changed != 1:
        db.session.rollback()
        raise Conflict(str(_l("This offer has already been answered.")))
    db.session.expire(offer, ["status", "answered_at", "keeps_waiting"])


def accept(actor: User | None, offer: Offer, keep_waiting: bool = False) -> None:
    """Accept ``offer``; with ``keep_waiting`` stay in the queue for better-ranked wishes.

    When the family already holds an accepted place (this is an upgrade offer), that
    place is released in the same transaction.
    """
    application = offer.application
    _check_actor(actor, application)
    keep_waiting = keep_waiting and can_keep_waiting(offer)
    previous = held_offer(application)
    try:
        _claim(offer, OfferStatus.ACCEPTED, keep_waiting)
        if previous is not None and previous.id != offer.id:
            previous.status = OfferStatus.RELEASED
            audit.record(
                actor,
                "offer.released",
                previous,
                reference=application.reference,
                reason="upgrade",
            )
        audit.record(actor, "offer.accept", offer, reference=application.reference)
        transition(
            application, "accept_and_wait" if keep_waiting else "accept", actor, commit=False
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise


def decline(actor: User | None, offer: Offer) -> None:
    """Decline ``offer``; a family holding an accepted place keeps it."""
    application = offer.application
    _check_actor(actor, application)
    previous = held_offer(application)
    try:
        _claim(offer, OfferStatus.DECLINED)
        audit.record(actor, "offer.decline", offer, reference=application.reference)
        transition(
            application,
            "decline_upgrade" if previous is not None else "decline",
            actor,
            commit=False,
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise


def stop_waiting(actor: User | None, application: Application) -> None:
    """The family keeps its accepted place and leaves the queue for better wishes."""
    _check_actor(actor, application)
    try:
        held = held_offer(application)
        if held is not None:
            held.keeps_waiting = False
        transition(application, "stop_waiting", actor, commit=False)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise


def expire_due(now: datetime | None = None) -> int:
    """Expire every open offer whose deadline has passed (the scheduler's job).

    The application moves on by ``expire`` (to ``Verfallen``) or, for a family holding
    an accepted place, by ``expire_upgrade`` (back to waiting with the held place). Each
    offer is its own transaction; an offer answered meanwhile is skipped.
    """
    now = now or utcnow()
    ids = db.session.scalars(
        select(Offer.id)
        .where(Offer.status == OfferStatus.OPEN, Offer.deadline <= now)
        .order_by(Offer.id)
    ).all()
    db.session.rollback()
    done = 0
    for offer_id in ids:
        offer = db.session.get(Offer, offer_id)
        if offer is None or offer.status != OfferStatus.OPEN:
            continue
        application = offer.application
        try:
            changed = db.session.execute(
                update(Offer)
                .where(Offer.id == offer.id, Offer.status == OfferStatus.OPEN)
                .values(status=OfferStatus.EXPIRED, answered_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]
            if changed != 1:
                db.session.rollback()
                continue
            db.session.expire(offer, ["status", "answered_at"])
            upgrade = held_offer(application) is not None
            audit.record(None, "offer.expire", offer, reference=application.reference)
            transition(
                application,
                "expire_upgrade" if upgrade else "expire",
                None,
                commit=False,
                mail_kind="offer_expired",
                facility_name=offer.facility.name,
                upgrade=upgrade,
            )
            db.session.commit()
            done += 1
        except (Conflict, InvalidTransition):
            db.session.rollback()
    return done


# --- places ------------------------------------------------------------------------


def taken_places(round_id: int) -> dict[tuple[int, CareType], int]:
    """Places occupied by open or accepted offers, per (facility id, care type)."""
    rows = db.session.execute(
        select(Offer.facility_id, Offer.care_type, func.count(Offer.id))
        .join(Application, Application.id == Offer.application_id)
        .where(Application.round_id == round_id, Offer.status.in_(TAKING))
        .group_by(Offer.facility_id, Offer.care_type)
    ).all()
    return {(fid, CareType(ct)): n for fid, ct, n in rows}


def free_places(round_id: int) -> dict[tuple[int, CareType], int]:
    """Capacity minus taken places, per (facility id, care type) (never below 0)."""
    taken = taken_places(round_id)
    result = {}
    for cap in db.session.scalars(select(Capacity).where(Capacity.round_id == round_id)):
        key = (cap.facility_id, CareType(cap.care_type))
        result[key] = max(0, cap.places - taken.get(key, 0))
    return result


def _lock_capacity(round_id: int, facility_id: int, care_type: CareType) -> Capacity | None:
    """Lock the capacity row (PostgreSQL; SQLite writers are serialised anyway)."""
    return db.session.scalar(
        select(Capacity)
        .where(
            Capacity.round_id == round_id,
            Capacity.facility_id == facility_id,
            Capacity.care_type == care_type,
        )
        .with_for_update()
    )


def deadline_for(round_: Round, now: datetime | None = None) -> datetime:
    return (now or utcnow()) + timedelta(days=round_.offer_response_days)


def make_offer(
    actor: User | None,
    application: Application,
    facility: Facility,
    *,
    run: AllocationRun | None = None,
    wish_rank: int | None = None,
    alternative: bool = False,
    deadline: datetime | None = None,
) -> Offer:
    """Add an open offer and move the application to ``Platzangebot`` (caller commits)."""
    offer = Offer(
        application_id=application.id,
        facility_id=facility.id,
        run_id=run.id if run is not None else None,
        care_type=application.care_type,
        wish_rank=wish_rank,
        alternative=alternative,
        status=OfferStatus.OPEN,
        deadline=deadline or deadline_for(application.round),
    )
    db.session.add(offer)
    db.session.flush()
    audit.record(
        actor,
        "offer.make",
        offer,
        reference=application.reference,
        facility=facility.slug,
        alternative=alternative,
    )
    transition(
        application,
        "offer",
        actor,
        commit=False,
        mail_kind="offer_made",
        facility_name=facility.name,
        facility_address=f"{facility.street}, {facility.postal_code} {facility.city}".strip(", "),
        deadline=offer.deadline,
        wish_rank=wish_rank,
        alternative=alternative,
        upgrade=held_offer(application) is not None,
    )
    return offer


# --- alternative offers --------------------------------------------------------------


@dataclass(frozen=True)
class FreeFacility:
    facility: Facility
    free: int
    same_district: bool


def alternative_facilities(application: Application) -> list[FreeFacility]:
    """Facilities outside the wishes with a free place of the child's care type.

    Listed nearest first: the family's district, then the others (by district, name).
    """
    return _alternatives(application, free_places(application.round_id), _active_facilities())


def waitlist_alternatives(round_id: int) -> list[tuple[Application, list[FreeFacility]]]:
    """``alternative_facilities`` for every child on the round's waiting list (by
    reference number), with the free places and facilities read once."""
    waiting = db.session.scalars(
        select(Application)
        .where(Application.round_id == round_id, Application.status == Status.WAITLIST)
        .order_by(Application.reference)
        .options(
            selectinload(Application.wishes),
            selectinload(Application.child).selectinload(Child.household),
        )
    ).all()
    if not waiting:
        return []
    free = free_places(round_id)
    active = _active_facilities()
    return [(app, _alternatives(app, free, active)) for app in waiting]


def _active_facilities() -> list[Facility]:
    return list(db.session.scalars(select(Facility).where(Facility.active.is_(True))).all())


def _alternatives(
    application: Application,
    free: dict[tuple[int, CareType], int],
    active: list[Facility],
) -> list[FreeFacility]:
    wished = set(application.facility_ids)
    district = application.child.household.district
    result = []
    for fac in active:
        if fac.id in wished:
            continue
        n = free.get((fac.id, CareType(application.care_type)), 0)
        if n > 0:
            result.append(FreeFacility(fac, n, fac.district == district))
    result.sort(key=lambda f: (not f.same_district, f.facility.district, f.facility.name))
    return result


def make_alternative(actor: User, application: Application, facility: Facility) -> Offer:
    """Offer an unplaced child a free place outside its wishes (the legal claim)."""
    if application.status not in (Status.WAITLIST, Status.RELEASED):
        raise InvalidTransition(
            str(_l("An alternative offer is possible only for children without a place."))
        )
    if facility.id in application.facility_ids:
        raise InvalidTransition(str(_l("This facility is one of the family's wishes.")))
    try:
        _lock_capacity(application.round_id, facility.id, CareType(application.care_type))
        free = free_places(application.round_id).get(
            (facility.id, CareType(application.care_type)), 0
        )
        if free <= 0:
            raise CapacityExceeded(str(_l("This facility has no free place of this care type.")))
        offer = make_offer(actor, application, facility, alternative=True)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return offer
