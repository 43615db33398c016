"""Accounts: registration, confirmation, login, logout, password reset and change."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select

from kita.errors import DomainError, ValidationFailed
from kita.extensions import db
from kita.models import STAFF_ROLES, Facility, FailedLogin, Household, Role, User, utcnow
from kita.services import audit, notifications, tokens

MIN_PASSWORD = 10
MAX_PASSWORD = 128


class LoginThrottled(DomainError):
    """Too many failed logins for this account recently."""


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def _hasher() -> PasswordHasher:
    params = current_app.config.get("PASSWORD_HASH_PARAMETERS") or {}
    return _cached_hasher(tuple(sorted(params.items())))


@cache
def _cached_hasher(params: tuple[tuple[str, int], ...]) -> PasswordHasher:
    return PasswordHasher(**dict(params))  # type: ignore[arg-type]  # argon2id by default


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(user: User | None, password: str) -> bool:
    """Constant work whether or not the user exists (no timing oracle)."""
    hasher = _hasher()
    if user is None:
        try:
            hasher.verify(_dummy_hash(), password)
        except (VerificationError, InvalidHashError):
            pass
        return False
    try:
        hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return True


def _dummy_hash() -> str:
    key = "dummy_hash"
    cached = current_app.extensions.get(key)
    if cached is None:
        cached = current_app.extensions[key] = _hasher().hash("dummy password for timing")
    return cached


@cache
def _common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problems(password: str, email: str | None = None) -> list[str]:
    """Length 10 to 128, any characters, no composition rules, no common password."""
    problems: list[str] = []
    if len(password) < MIN_PASSWORD:
        problems.append(str(_l("At least %(n)d characters, please.", n=MIN_PASSWORD)))
    elif len(password) > MAX_PASSWORD:
        problems.append(str(_l("At most %(n)d characters, please.", n=MAX_PASSWORD)))
    elif password.lower() in _common_passwords() or len(set(password)) < 3:
        problems.append(str(_l("This password is too common. Please choose another one.")))
    elif (
        email
        and normalize_email(email).split("@")[0] in password.lower()
        and (len(normalize_email(email).split("@")[0]) >= 4)
    ):
        problems.append(str(_l("The password must not contain your e-mail address.")))
    return problems


def _check_password(password: str, email: str | None, field: str = "password") -> None:
    problems = password_problems(password, email)
    if problems:
        raise ValidationFailed({field: problems})


def get_user(user_id: object) -> User | None:
    try:
        return db.session.get(User, int(user_id))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def get_staff_user(user_id: int) -> User | None:
    """A staff account (office, facility, admin); parents' accounts are not staff."""
    user = db.session.get(User, user_id)
    return user if user is not None and user.role in STAFF_ROLES else None


def staff_users(role: Role | None = None) -> list[User]:
    stmt = select(User).where(User.role.in_(STAFF_ROLES)).order_by(User.role, User.email)
    if role is not None:
        stmt = stmt.where(User.role == role)
    return list(db.session.scalars(stmt).all())


def get_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalize_email(email)))


def register(email: str, password: str, locale: str = "de") -> None:
    """Create a parent account and mail a confirmation link.

    For an address that already has an account nothing is created; its owner gets a
    notice with a reset link instead. The caller shows the same page either way.
    """
    email = normalize_email(email)
    _check_password(password, email)
    existing = get_by_email(email)
    password_hash = hash_password(password)  # same work on both paths
    if existing is not None:
        notifications.queue(
            "account_exists",
            to=existing.email,
            locale=existing.locale,
            reset_url=notifications.external_url(
                "auth.reset_password", token=reset_token(existing)
            ),
        )
        audit.record(None, "account.register_existing", existing)
        db.session.commit()
        return
    user = User(email=email, password_hash=password_hash, role=Role.PARENT, locale=locale)
    db.session.add(user)
    db.session.flush()
    db.session.add(Household(user_id=user.id, locale=locale))
    notifications.queue(
        "confirm",
        to=user.email,
        locale=locale,
        confirm_url=notifications.external_url("auth.confirm", token=confirm_token(user)),
    )
    audit.record(user, "account.register", user)
    db.session.commit()


def confirm_token(user: User) -> str:
    return tokens.make("confirm", {"uid": user.id, "email": user.email})


def confirm(token: str) -> User | None:
    """Confirm the address behind a link; None when the link is invalid or expired."""
    data = tokens.load("confirm", token, current_app.config["CONFIRM_TOKEN_MAX_AGE"])
    if not isinstance(data, dict):
        return None
    user = db.session.get(User, data.get("uid"))
    if user is None or user.email != data.get("email"):
        return None
    if user.confirmed_at is None:
        user.confirmed_at = utcnow()
        audit.record(user, "account.confirm", user)
        db.session.commit()
    return user


def _failed_recently(email: str) -> int:
    since = utcnow() - current_app.config["ACCOUNT_FAILED_LOGIN_WINDOW"]
    return (
        db.session.scalar(
            select(func.count(FailedLogin.id)).where(
                FailedLogin.email == email, FailedLogin.created_at >= since
            )
        )
        or 0
    )


def authenticate(email: str, password: str) -> User | None:
    """The user for these credentials, or None. Raises ``LoginThrottled`` after too many
    failures for the address within the window (a slow-down, not a lock-out)."""
    email = normalize_email(email)
    if _failed_recently(email) >= current_app.config["ACCOUNT_FAILED_LOGIN_LIMIT"]:
        verify_password(None, password)
        raise LoginThrottled(str(_l("Too many attempts. Please wait a few minutes.")))
    user = get_by_email(email)
    ok = verify_password(user, password)
    if not ok or user is None or user.confirmed_at is None or not user.is_active:
        db.session.add(FailedLogin(email=email))
        if user is not None:
            audit.record(None, "account.login_failed", user)
        db.session.commit()
        return None
    user.last_login_at = utcnow()
    if not (user.totp_enabled and user.is_staff):
        # with a second factor the counter is cleared only once the code is right too
        db.session.execute(delete(FailedLogin).where(FailedLogin.email == email))
    audit.record(user, "account.login", user)
    db.session.commit()
    return user


def logout(user: User) -> None:
    """End every session of this user server-side (a replayed cookie stops working)."""
    user.session_version += 1
    audit.record(user, "account.logout", user)
    db.session.commit()


def _password_fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def reset_token(user: User) -> str:
    # bound to the current hash: once the password changes the link is used up
    return tokens.make("reset", {"uid": user.id, "pw": _password_fingerprint(user)})


def request_reset(email: str) -> None:
    """Mail a reset link if the address has an account; the caller answers the same anyway."""
    user = get_by_email(email)
    if user is None or not user.is_active:
        _dummy_hash()
        return
    notifications.queue(
        "reset",
        to=user.email,
        locale=user.locale,
        reset_url=notifications.external_url("auth.reset_password", token=reset_token(user)),
        minutes=current_app.config["RESET_TOKEN_MAX_AGE"] // 60,
    )
    audit.record(None, "account.reset_requested", user)
    db.session.commit()


def user_for_reset(token: str) -> User | None:
    data = tokens.load("reset", token, current_app.config["RESET_TOKEN_MAX_AGE"])
    if not isinstance(data, dict):
        return None
    user = db.session.get(User, data.get("uid"))
    if user is None or data.get("pw") != _password_fingerprint(user):
        return None
    return user


def reset_password(token: str, password: str) -> User:
    user = user_for_reset(token)
    if user is None:
        raise DomainError(str(_l("This link is invalid or has expired. Please request a new one.")))
    _check_password(password, user.email)
    _set_password(user, password, "account.password_reset")
    if user.confirmed_at is None:  # the link proved the address
        user.confirmed_at = utcnow()
    db.session.commit()
    return user


def change_password(user: User, current: str, new: str) -> None:
    if not verify_password(user, current):
        raise ValidationFailed({"current_password": [str(_l("The current password is wrong."))]})
    _check_password(new, user.email, "new_password")
    _set_password(user, new, "account.password_changed")
    db.session.commit()


def _set_password(user: User, password: str, action: str) -> None:
    user.password_hash = hash_password(password)
    user.session_version += 1  # ends every other session
    db.session.execute(delete(FailedLogin).where(FailedLogin.email == user.email))
    notifications.queue("password_changed", to=user.email, locale=user.locale)
    audit.record(user, action, user)


def create_user(
    email: str,
    password: str,
    role: Role,
    *,
    facility: Facility | None = None,
    actor: User | None = None,
    display_name: str | None = None,
    confirmed: bool = True,
    check_password: bool = True,
    commit: bool = True,
) -> User:
    """Create an account directly (admin, CLI, demo). Staff of a facility need ``facility``."""
    email = normalize_email(email)
    if get_by_email(email) is not None:
        raise ValidationFailed({"email": [str(_l("An account with this address exists."))]})
    if role == Role.FACILITY and facility is None:
        raise ValidationFailed({"facility": [str(_l("Facility staff need a facility."))]})
    if check_password:
        _check_password(password, email)
    user = User(
        email=email,
        password_hash=hash_password(password),
        role=role,
        facility_id=facility.id if facility is not None and role == Role.FACILITY else None,
        display_name=display_name,
        confirmed_at=utcnow() if confirmed else None,
    )
    db.session.add(user)
    db.session.flush()
    if role == Role.PARENT:
        db.session.add(Household(user_id=user.id))
    audit.record(actor, "account.create", user, role=str(role))
    if commit:
        db.session.commit()
    return user


def prune_failed_logins(older_than: timedelta = timedelta(days=1)) -> int:
    result = db.session.execute(
        delete(FailedLogin).where(FailedLogin.created_at < utcnow() - older_than)
    )
    db.session.commit()
    return result.rowcount or 0  # type: ignore[attr-defined]


def invite_staff(
    actor: User | None,
    email: str,
    role: Role,
    *,
    facility: Facility | None = None,
    display_name: str | None = None,
    commit: bool = True,
) -> User:
    """Create a staff account without a usable password and mail a link to set one;
    the account and its invitation are stored together or not at all (``commit=False``:
    the caller adds to the same transaction and commits)."""
    import secrets

    try:
        user = create_user(
            email,
            secrets.token_urlsafe(32),
            role,
            facility=facility,
            actor=actor,
            display_name=display_name,
            check_password=False,
            commit=False,
        )
        notifications.queue(
            "staff_invite",
            to=user.email,
            locale=user.locale,
            role=str(role),
            facility_name=facility.name if facility is not None else None,
            reset_url=notifications.external_url("auth.reset_password", token=reset_token(user)),
            minutes=current_app.config["RESET_TOKEN_MAX_AGE"] // 60,
        )
        if commit:
            db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return user


def set_active(actor: User, user: User, active: bool) -> None:
    """Deactivate or reactivate an account; deactivation ends its sessions at once."""
    if user.id == actor.id and not active:
        raise DomainError(str(_l("You cannot deactivate your own account.")))
    user.is_active_account = active
    user.session_version += 1
    audit.record(actor, "account.activate" if active else "account.deactivate", user)
    db.session.commit()
