"""Rounds: create and edit (name, range of care start dates, deadline, response days)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from kita.errors import ValidationFailed
from kita.extensions import db
from kita.models import Application, Round, Status, TiebreakMethod, User
from kita.services import audit


@dataclass
class RoundInput:
    name: str
    care_start_from: date
    care_start_to: date
    application_deadline: date
    offer_response_days: int = 14
    tiebreak_method: TiebreakMethod | str = TiebreakMethod.LOTTERY
    #: the yearly day on which waiting-list entries are asked to re-confirm (optional)
    reconfirmation_date: date | None = None


def all_rounds() -> list[Round]:
    return list(db.session.scalars(select(Round).order_by(Round.care_start_from.desc())).all())


def application_counts() -> dict[int, int]:
    """Submitted (non-draft) applications per round."""
    rows = db.session.execute(
        select(Application.round_id, func.count())
        .where(Application.status != Status.DRAFT)
        .group_by(Application.round_id)
    ).all()
    return {r: n for r, n in rows}


def save_round(actor: User, data: RoundInput, round_: Round | None = None) -> Round:
    errors: dict[str, list[str]] = {}
    name = (data.name or "").strip()
    if not name:
        errors["name"] = [str(_l("Please fill in this field."))]
    elif len(name) > 120:
        errors["name"] = [str(_l("At most %(n)d characters, please.", n=120))]
    else:
        other = db.session.scalar(select(Round).where(Round.name == name))
        if other is not None and (round_ is None or other.id != round_.id):
            errors["name"] = [str(_l("A round with this name exists."))]
    if data.care_start_from > data.care_start_to:
        errors["care_start_to"] = [str(_l("The end must not be before the beginning."))]
    if data.application_deadline > data.care_start_from:
        errors["application_deadline"] = [
            str(_l("The deadline must be before the first care start date."))
        ]
    if (
        data.reconfirmation_date is not None
        and data.reconfirmation_date < data.application_deadline
    ):
        errors["reconfirmation_date"] = [
            str(_l("The re-confirmation must be after the application deadline."))
        ]
    if not (1 <= (data.offer_response_days or 0) <= 90):
        errors["offer_response_days"] = [str(_l("Between 1 and 90 days, please."))]
    method = TiebreakMethod(data.tiebreak_method)
    if (
        round_ is not None
        and round_.lottery_drawn_at is not None
        and method != round_.tiebreak_method
    ):
        errors["tiebreak_method"] = [str(_l("The lottery of this round has already been drawn."))]
    if errors:
        raise ValidationFailed(errors)
    created = round_ is None
    if round_ is None:
        round_ = Round()
        db.session.add(round_)
    before = (
        None
        if created
        else {
            "deadline": str(round_.application_deadline),
            "from": str(round_.care_start_from),
            "to": str(round_.care_start_to),
        }
    )
    round_.name = name
    round_.care_start_from = data.care_start_from
    round_.care_start_to = data.care_start_to
    round_.application_deadline = data.application_deadline
    round_.offer_response_days = data.offer_response_days
    round_.tiebreak_method = method
    round_.reconfirmation_date = data.reconfirmation_date
    db.session.flush()
    audit.record(
        actor,
        "round.create" if created else "round.update",
        round_,
        name=name,
        deadline=str(data.application_deadline),
        before=before,
    )
    db.session.commit()
    return round_


def get_round(round_id: int) -> Round | None:
    return db.session.get(Round, round_id)
