"""Applications the office enters on behalf of families without internet or e-mail.

Such a household has no account; without a contact e-mail its mails become letters
(``OutboxMail`` rows with status LETTER) that the office prints. The first letter
carries a claim code with which the family can later take over its record with an
account of its own.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from kita.errors import NotFound, ValidationFailed
from kita.extensions import db
from kita.models import (
    Application,
    Household,
    MailStatus,
    OutboxMail,
    Role,
    Round,
    User,
    utcnow,
)
from kita.services import applications, audit, households, notifications

#: unambiguous characters for a code typed from a letter
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


@dataclass
class PaperForm:
    guardian_first_name: str
    guardian_last_name: str
    street: str
    postal_code: str
    city: str
    child_first_name: str
    child_last_name: str
    birth_date: date
    round_id: int
    start_date: date
    care_type: str
    weekly_hours: int
    wishes: list[int]
    criteria: list[tuple[int, int | None]] = field(default_factory=list)
    remarks: str = ""
    district: str | None = None
    phone: str | None = None
    contact_email: str | None = None
    locale: str = "de"


def _hash(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").strip().upper().encode()).hexdigest()


def new_claim_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def enter(actor: User, form: PaperForm) -> tuple[Application, str]:
    """Household, child and submitted application from the paper form, in one transaction.

    Returns the application and the claim code (printed on the first letter).
    """
    errors: dict[str, list[str]] = {}
    round_ = db.session.get(Round, form.round_id)
    if round_ is None:
        raise ValidationFailed({"round_id": [str(_l("Please choose a round."))]})
    email = (form.contact_email or "").strip().lower() or None
    if email and "@" not in email:
        errors["contact_email"] = [str(_l("Please enter a valid e-mail address."))]
    household = Household(
        user_id=None,
        entered_by_office=True,
        contact_email=email,
        locale=form.locale if form.locale in ("de", "en") else "de",
    )
    db.session.add(household)
    try:
        households.update_household(
            actor,
            household,
            first_name=form.guardian_first_name,
            last_name=form.guardian_last_name,
            street=form.street,
            postal_code=form.postal_code,
            city=form.city,
            phone=form.phone,
            district=form.district or None,
            commit=False,
        )
    except ValidationFailed as exc:
        errors.update(
            {f"guardian_{k}" if k.endswith("_name") else k: v for k, v in exc.errors.items()}
        )
    child = None
    try:
        child = households.add_child(
            actor,
            household,
            first_name=form.child_first_name,
            last_name=form.child_last_name,
            birth_date=form.birth_date,
            commit=False,
        )
    except ValidationFailed as exc:
        errors.update(
            {f"child_{k}" if k.endswith("_name") else k: v for k, v in exc.errors.items()}
        )
    application = None
    if child is not None:
        data = applications.ApplicationInput(
            child_id=child.id,
            round_id=round_.id,
            start_date=form.start_date,
            care_type=form.care_type,
            weekly_hours=form.weekly_hours,
            wishes=form.wishes,
            criteria=form.criteria,
            remarks=form.remarks,
        )
        try:
            if errors:
                applications.validate_input(data, child, round_)
            else:
                application = applications.create(actor, child, round_, data, commit=False)
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if errors or application is None:
        db.session.rollback()
        raise ValidationFailed(errors or {"": [str(_l("Please check your input."))]})
    code = new_claim_code()
    household.claim_code_hash = _hash(code)
    notifications.queue(
        "claim_code",
        to=email,
        locale=household.locale,
        application=application,
        household=household,
        reference=application.reference,
        first_name=child.first_name if child else "",
        claim_code=code,
        register_url=notifications.external_url("auth.register"),
    )
    applications.transition(application, "submit", actor, commit=False)
    audit.record(
        actor, "application.entered_by_office", application, reference=application.reference
    )
    db.session.commit()
    return application, code


def renew_claim_code(actor: User, application: Application) -> str:
    """A fresh claim code for the office-entered household behind ``application``, e.g.
    when the letter was lost; the previous code stops working. The family gets it the way
    it gets every message (a letter, or a mail to its contact address)."""
    household = application.child.household
    if household.user_id is not None or not household.entered_by_office:
        raise ValidationFailed({"": [str(_l("This family already has an account."))]})
    code = new_claim_code()
    household.claim_code_hash = _hash(code)
    notifications.queue(
        "claim_code",
        to=household.contact_email,
        locale=household.locale,
        application=application,
        household=household,
        reference=application.reference,
        first_name=application.child.first_name,
        claim_code=code,
        register_url=notifications.external_url("auth.register"),
        renewed=True,
    )
    audit.record(actor, "household.claim_code_renewed", household, reference=application.reference)
    db.session.commit()
    return code


def claim(user: User, code: str) -> Household:
    """A parent account takes over the office-entered household behind ``code``.

    The account's own household must still be empty (no children); it is replaced.
    """
    if user.role != Role.PARENT:
        raise NotFound("not a parent")
    target = db.session.scalar(
        select(Household).where(Household.claim_code_hash == _hash(code or ""))
    )
    if target is None or target.user_id is not None:
        audit.record_now(user, "household.claim_failed")
        raise ValidationFailed({"code": [str(_l("This code is not valid."))]})
    own = db.session.scalar(select(Household).where(Household.user_id == user.id))
    if own is not None:
        if own.children:
            raise ValidationFailed(
                {
                    "code": [
                        str(
                            _l(
                                "Your account already has children entered. Please contact the office."
                            )
                        )
                    ]
                }
            )
        db.session.delete(own)
        db.session.flush()
    claimed = db.session.execute(
        update(Household)
        .where(Household.id == target.id, Household.user_id.is_(None))
        .values(user_id=user.id, claim_code_hash=None, contact_email=None, locale=user.locale)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if claimed != 1:
        db.session.rollback()
        raise ValidationFailed({"code": [str(_l("This code is not valid."))]})
    db.session.expire(target)
    audit.record(user, "household.claimed", target)
    db.session.commit()
    return target


# --- letters -------------------------------------------------------------------------


def letters(printed: bool = False, limit: int = 200) -> list[OutboxMail]:
    stmt = select(OutboxMail).where(OutboxMail.status == MailStatus.LETTER)
    stmt = stmt.where(
        OutboxMail.printed_at.is_not(None) if printed else OutboxMail.printed_at.is_(None)
    )
    return list(db.session.scalars(stmt.order_by(OutboxMail.id).limit(limit)).all())


def get_letter(letter_id: int) -> OutboxMail:
    mail = db.session.get(OutboxMail, letter_id)
    if mail is None or mail.status != MailStatus.LETTER:
        raise NotFound("letter")
    return mail


def mark_printed(actor: User, mail: OutboxMail) -> None:
    if mail.printed_at is None:
        mail.printed_at = utcnow()
        audit.record(actor, "letter.printed", mail)
    db.session.commit()
