"""Priority rules (the point system) and the tie-break between equal points.

The tie-break is set per round: a lottery drawn once at the round's application
deadline (seeded, the seed and time recorded on the round, one number per family so
that siblings share it), or the order of submission. :func:`tiebreak_for` gives the
integer the allocation uses; a smaller number wins a tie.
"""

from __future__ import annotations

import random
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from kita.errors import Conflict, DomainError, ValidationFailed
from kita.extensions import db
from kita.models import (
    Application,
    Child,
    Household,
    PriorityRule,
    Round,
    Status,
    TiebreakMethod,
    User,
    utcnow,
)
from kita.services import audit

#: families that got no number in the draw (entered later) come after every drawn one
LATE_OFFSET = 10**9
_CODE = re.compile(r"^[a-z0-9_-]{1,40}$")


@dataclass
class RuleInput:
    code: str
    label_de: str
    label_en: str
    points: int
    facility_specific: bool = False
    proof_required: bool = False
    active: bool = True
    sort_order: int = 0
    description_de: str = ""
    description_en: str = ""


def get_rule(rule_id: int) -> PriorityRule | None:
    return db.session.get(PriorityRule, rule_id)


def all_rules(active_only: bool = False) -> list[PriorityRule]:
    stmt = select(PriorityRule).order_by(PriorityRule.sort_order, PriorityRule.id)
    if active_only:
        stmt = stmt.where(PriorityRule.active.is_(True))
    return list(db.session.scalars(stmt).all())


#: the order of rules on forms and letters (a small number; the column is a 32-bit integer)
MAX_SORT_ORDER = 10_000


def _validate(data: RuleInput, existing: PriorityRule | None) -> None:
    errors: dict[str, list[str]] = {}
    code = (data.code or "").strip().lower()
    if not _CODE.match(code):
        errors["code"] = [str(_l("Lower-case letters, digits, - and _ only."))]
    else:
        other = db.session.scalar(select(PriorityRule).where(PriorityRule.code == code))
        if other is not None and (existing is None or other.id != existing.id):
            errors["code"] = [str(_l("This code is already used."))]
    for name in ("label_de", "label_en"):
        value = (getattr(data, name) or "").strip()
        if not value:
            errors[name] = [str(_l("Please fill in this field."))]
        elif len(value) > 200:
            errors[name] = [str(_l("At most %(n)d characters, please.", n=200))]
    if data.points is None or not (0 <= data.points <= 100000):
        errors["points"] = [str(_l("Between 0 and 100000, please."))]
    if not (0 <= (data.sort_order or 0) <= MAX_SORT_ORDER):
        errors["sort_order"] = [str(_l("Between 0 and 10000, please."))]
    if errors:
        raise ValidationFailed(errors)


def save_rule(actor: User, data: RuleInput, rule: PriorityRule | None = None) -> PriorityRule:
    """Create a rule or change one; changes are audited with old and new points."""
    _validate(data, rule)
    old = None if rule is None else {"points": rule.points, "active": rule.active}
    if rule is None:
        rule = PriorityRule()
        db.session.add(rule)
    rule.code = data.code.strip().lower()
    rule.label_de = data.label_de.strip()
    rule.label_en = data.label_en.strip()
    rule.description_de = (data.description_de or "").strip()
    rule.description_en = (data.description_en or "").strip()
    rule.points = data.points
    rule.facility_specific = data.facility_specific
    rule.proof_required = data.proof_required
    rule.active = data.active
    rule.sort_order = data.sort_order or 0
    db.session.flush()
    audit.record(
        actor,
        "rule.create" if old is None else "rule.update",
        rule,
        code=rule.code,
        points=rule.points,
        active=rule.active,
        before=old,
    )
    db.session.commit()
    return rule


def set_tiebreak(actor: User, round_: Round, method: TiebreakMethod | str) -> None:
    method = TiebreakMethod(method)
    if round_.lottery_drawn_at is not None and method != round_.tiebreak_method:
        raise Conflict(str(_l("The lottery of this round has already been drawn.")))
    if method != round_.tiebreak_method:
        before = str(round_.tiebreak_method)
        round_.tiebreak_method = method
        audit.record(actor, "round.tiebreak", round_, before=before, after=str(method))
    db.session.commit()


def draw_lottery(round_: Round, actor: User | None = None, *, today: date | None = None) -> bool:
    """Draw the round's lottery once (after its application deadline).

    Every household with a submitted application in the round gets one number 1..n
    (siblings share it). The seed and the time are recorded on the round. Returns False
    when it had been drawn already; two callers at once draw it only once.
    """
    today = today or datetime.now(UTC).date()
    if round_.tiebreak_method != TiebreakMethod.LOTTERY:
        raise DomainError(str(_l("This round uses the order of submission.")))
    if round_.lottery_drawn_at is not None:
        return False
    if today <= round_.application_deadline:
        raise DomainError(str(_l("The lottery is drawn after the application deadline.")))
    seed = secrets.randbits(62)
    claimed = db.session.execute(
        update(Round)
        .where(Round.id == round_.id, Round.lottery_drawn_at.is_(None))
        .values(lottery_seed=seed, lottery_drawn_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if claimed != 1:
        db.session.rollback()
        return False
    household_ids = sorted(
        db.session.scalars(
            select(Child.household_id)
            .join(Application, Application.child_id == Child.id)
            .where(Application.round_id == round_.id, Application.submitted_at.is_not(None))
            .distinct()
        ).all()
    )
    numbers = assign_numbers(seed, household_ids)
    if numbers:
        db.session.execute(
            update(Household),
            [{"id": hid, "lottery_number": n} for hid, n in numbers.items()],
        )
    db.session.expire(round_)
    audit.record(actor, "round.lottery_drawn", round_, seed=seed, households=len(numbers))
    db.session.commit()
    return True


def assign_numbers(seed: int, household_ids: list[int]) -> dict[int, int]:
    """The draw itself, reproducible from the recorded seed: household id -> number."""
    order = sorted(household_ids)
    random.Random(seed).shuffle(order)  # noqa: S311 - a recorded, reproducible draw
    return {hid: i for i, hid in enumerate(order, start=1)}


def draw_due_lotteries(today: date | None = None) -> int:
    """The scheduler's job: draw every lottery whose deadline has passed (idempotent)."""
    today = today or datetime.now(UTC).date()
    due = db.session.scalars(
        select(Round).where(
            Round.tiebreak_method == TiebreakMethod.LOTTERY,
            Round.lottery_drawn_at.is_(None),
            Round.application_deadline < today,
            Round.closed_at.is_(None),
        )
    ).all()
    return sum(1 for r in due if draw_lottery(r, None, today=today))


def _submission_key(submitted_at: datetime | None, app_id: int) -> int:
    if submitted_at is None:
        return LATE_OFFSET * 10**7 + app_id
    return int(submitted_at.timestamp() * 1_000_000)


def tiebreak_for(application: Application) -> int:
    """The integer that breaks ties between equal points; smaller wins."""
    round_ = application.round
    if round_.tiebreak_method == TiebreakMethod.SUBMISSION:
        return _submission_key(application.submitted_at, application.id)
    if round_.lottery_drawn_at is None:
        raise DomainError(str(_l("The lottery of this round has not been drawn yet.")))
    household = application.child.household
    if household.lottery_number is None:
        return LATE_OFFSET + household.id
    return household.lottery_number


def tiebreaks_for_round(round_id: int) -> dict[int, int]:
    """:func:`tiebreak_for` for every application of a round in one query."""
    round_ = db.session.get(Round, round_id)
    if round_ is None:
        return {}
    rows = db.session.execute(
        select(
            Application.id,
            Application.submitted_at,
            Household.id,
            Household.lottery_number,
        )
        .join(Child, Application.child_id == Child.id)
        .join(Household, Child.household_id == Household.id)
        .where(Application.round_id == round_id, Application.status != Status.DRAFT)
    ).all()
    if round_.tiebreak_method == TiebreakMethod.SUBMISSION:
        return {a: _submission_key(s, a) for a, s, _h, _n in rows}
    if round_.lottery_drawn_at is None:
        raise DomainError(str(_l("The lottery of this round has not been drawn yet.")))
    return {a: (n if n is not None else LATE_OFFSET + h) for a, _s, h, n in rows}
