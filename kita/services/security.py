"""Second factor (TOTP) for staff accounts and the office's "2FA mandatory" policy."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pyotp
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from kita.errors import ValidationFailed
from kita.extensions import db
from kita.models import AuditEvent, FailedLogin, Role, Setting, User, utcnow
from kita.services import audit

STAFF_TOTP_REQUIRED = "staff_totp_required"
TOTP_ROLES = (Role.OFFICE, Role.FACILITY, Role.ADMIN)
#: roles that may make the second factor mandatory for every staff account
POLICY_ROLES = (Role.OFFICE, Role.ADMIN)
TOTP_VERIFIED = "account.totp_verified"


class TotpThrottled(ValidationFailed):
    """Too many wrong codes for this account recently (shared with the password counter)."""


def staff_totp_required() -> bool:
    row = db.session.get(Setting, STAFF_TOTP_REQUIRED)
    return row is not None and row.value == "1"


def set_staff_totp_required(actor: User, required: bool) -> None:
    """The office (or admin) makes the second factor mandatory for every staff account."""
    if actor.role not in POLICY_ROLES:
        raise ValidationFailed(str(_l("Only the office can change this setting.")))
    value = "1" if required else "0"
    row = db.session.get(Setting, STAFF_TOTP_REQUIRED)
    if row is None:
        db.session.add(Setting(key=STAFF_TOTP_REQUIRED, value=value))
    elif row.value == value:
        return
    else:
        row.value = value
    audit.record(
        actor, "settings.update", object_type="setting", object_id=STAFF_TOTP_REQUIRED, value=value
    )
    db.session.commit()


def can_use_totp(user: User) -> bool:
    return user.role in TOTP_ROLES


def must_enrol(user: User) -> bool:
    """Staff without a second factor while the office requires one."""
    return can_use_totp(user) and not user.totp_enabled and staff_totp_required()


def issuer() -> str:
    name = db.session.get(Setting, "municipality_name")
    return f"Kitaplatz {name.value if name else current_app.config['MUNICIPALITY_NAME']}"


def start_enrolment(user: User) -> str:
    """A fresh secret, stored but not active until a code from the app confirms it."""
    if not can_use_totp(user):
        raise ValidationFailed(str(_l("A second factor is only available for staff accounts.")))
    if user.totp_enabled:
        assert user.totp_secret is not None
        return user.totp_secret
    if not user.totp_secret:
        user.totp_secret = pyotp.random_base32()
        db.session.commit()
    return user.totp_secret


def provisioning_uri(user: User) -> str:
    assert user.totp_secret is not None
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.email, issuer_name=issuer())


def grouped(secret: str) -> str:
    """The secret in groups of four, easier to type into an authenticator app."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _failed_recently(user: User) -> int:
    since = utcnow() - current_app.config["ACCOUNT_FAILED_LOGIN_WINDOW"]
    rows = db.session.scalars(
        select(FailedLogin.id).where(
            FailedLogin.email == user.email, FailedLogin.created_at >= since
        )
    ).all()
    return len(rows)


def _used_steps(user: User) -> set[int]:
    since = utcnow() - timedelta(minutes=5)
    details = db.session.scalars(
        select(AuditEvent.details).where(
            AuditEvent.action == TOTP_VERIFIED,
            AuditEvent.object_type == "user",
            AuditEvent.object_id == str(user.id),
            AuditEvent.created_at >= since,
        )
    ).all()
    steps: set[int] = set()
    for raw in details:
        try:
            steps.add(int(json.loads(raw)["step"]))
        except (ValueError, KeyError, TypeError):
            continue
    return steps


def _matching_step(secret: str, code: str) -> int | None:
    """The time step (30 s) the code belongs to, allowing one step of clock drift."""
    code = "".join(ch for ch in (code or "") if not ch.isspace())
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    now = time.time()
    for offset in (0, -1, 1):
        at = now + offset * totp.interval
        if pyotp.utils.strings_equal(totp.at(at), code):
            return int(at // totp.interval)
    return None


def verify(user: User, code: str, *, field: str = "code") -> None:
    """Check a code: single use, throttled together with failed passwords; commits.

    Raises ``ValidationFailed`` (``TotpThrottled`` after too many failures).
    """
    if _failed_recently(user) >= current_app.config["ACCOUNT_FAILED_LOGIN_LIMIT"]:
        raise TotpThrottled({field: [str(_l("Too many attempts. Please wait a few minutes."))]})
    step = _matching_step(user.totp_secret or "", code) if user.totp_secret else None
    if step is None or step in _used_steps(user):
        db.session.add(FailedLogin(email=user.email))
        audit.record(None, "account.totp_failed", user)
        db.session.commit()
        raise ValidationFailed({field: [str(_l("The code is wrong or was already used."))]})
    audit.record(user, TOTP_VERIFIED, user, step=step)
    db.session.execute(delete(FailedLogin).where(FailedLogin.email == user.email))
    db.session.commit()


def enable(user: User, code: str) -> None:
    """Activate the second factor after a first correct code; other sessions end."""
    if not user.totp_secret or user.totp_enabled:
        raise ValidationFailed(str(_l("Please start the set-up again.")))
    verify(user, code)
    user.totp_enabled = True
    user.session_version += 1
    audit.record(user, "account.totp_enabled", user)
    db.session.commit()


def disable(user: User, code: str) -> None:
    """Switch the second factor off (refused while the office requires it)."""
    if not user.totp_enabled:
        return
    if staff_totp_required():
        raise ValidationFailed(
            str(_l("The office requires a second factor; it cannot be switched off."))
        )
    verify(user, code)
    user.totp_enabled = False
    user.totp_secret = None
    user.session_version += 1
    audit.record(user, "account.totp_disabled", user)
    db.session.commit()


def reset_totp(actor: User | None, user: User) -> None:
    """Remove a lost second factor (admin or CLI); the user sets up a new one."""
    user.totp_enabled = False
    user.totp_secret = None
    user.session_version += 1
    audit.record(actor, "account.totp_reset", user)
    db.session.commit()
