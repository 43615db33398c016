"""Requirement 2: login, registration and password reset answer the same for known and
unknown addresses: status, page and (within a generous bound) time."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from kita.extensions import db
from kita.models import OutboxMail, Role, User
from tests.conftest import make_user

KNOWN = "known.parent@example.org"
UNKNOWN = "nobody.here@example.org"
NEW_PASSWORD = "Sommer im Großen Garten"  # noqa: S105


def _normalised(body: str, *emails: str) -> str:
    for email in emails:
        body = body.replace(email, "ADDRESS")
    return body


def _same_timing(measure: Callable[[str], float]) -> None:
    """Median times for known and unknown addresses within a factor of 3 (+50 ms)."""
    known = statistics.median(measure(KNOWN) for _ in range(7))
    unknown = statistics.median(measure(UNKNOWN) for _ in range(7))
    slow, fast = max(known, unknown), min(known, unknown)
    assert slow <= 3 * fast + 0.05, (known, unknown)


def _timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def test_req02_login_same_answer_for_known_and_unknown(client: FlaskClient, app: Flask) -> None:
    make_user(Role.PARENT, email=KNOWN)
    unconfirmed = make_user(Role.PARENT, email="unconfirmed@example.org")
    unconfirmed.confirmed_at = None
    db.session.commit()

    def attempt(email: str, password: str = "wrong password!") -> tuple[int, str]:
        response = app.test_client().post("/login", data={"email": email, "password": password})
        return response.status_code, _normalised(response.get_data(as_text=True), email)

    wrong = attempt(KNOWN)
    unknown = attempt(UNKNOWN)
    # the right password of an unconfirmed account answers like a wrong one
    pending = attempt("unconfirmed@example.org", "ein sicheres Passwort")
    assert wrong[0] == unknown[0] == pending[0] == 401
    assert wrong[1] == unknown[1] == pending[1]

    _same_timing(lambda email: _timed(lambda: attempt(email)))


def test_req02_login_throttling_does_not_reveal_accounts(client: FlaskClient) -> None:
    """Unknown addresses are slowed down exactly like existing ones."""
    make_user(Role.PARENT, email=KNOWN)
    for email in (KNOWN, UNKNOWN):
        codes = [
            client.post("/login", data={"email": email, "password": f"guess {i}!!!!"}).status_code
            for i in range(11)
        ]
        assert codes == [401] * 10 + [429]


def test_req02_registration_same_answer_for_known_and_unknown(app: Flask) -> None:
    make_user(Role.PARENT, email=KNOWN)

    def register(email: str) -> tuple[int, str]:
        response = app.test_client().post(
            "/register",
            data={
                "email": email,
                "password": NEW_PASSWORD,
                "password2": NEW_PASSWORD,
                "consent": "y",
            },
        )
        return response.status_code, _normalised(response.get_data(as_text=True), email)

    known = register(KNOWN)
    unknown = register(UNKNOWN)
    assert known[0] == unknown[0] == 200
    assert known[1] == unknown[1]
    # the existing account was not duplicated, its owner was told by mail
    assert db.session.scalar(select(func.count(User.id)).where(User.email == KNOWN)) == 1
    kinds = {(m.to_address, m.kind) for m in db.session.scalars(select(OutboxMail))}
    assert (KNOWN, "account_exists") in kinds and (UNKNOWN, "confirm") in kinds

    counter = iter(range(1000))

    def measure(email: str) -> float:
        # a fresh unknown address each time (an unknown one registered once becomes known)
        target = email if email == KNOWN else f"fresh{next(counter)}@example.org"
        return _timed(lambda: register(target))

    _same_timing(measure)


def test_req02_reset_same_answer_for_known_and_unknown(app: Flask) -> None:
    make_user(Role.PARENT, email=KNOWN)

    def reset(email: str) -> tuple[int, str]:
        response = app.test_client().post("/reset", data={"email": email})
        return response.status_code, _normalised(response.get_data(as_text=True), email)

    known = reset(KNOWN)
    unknown = reset(UNKNOWN)
    assert known[0] == unknown[0] == 200
    assert known[1] == unknown[1]
    mails = list(db.session.scalars(select(OutboxMail)))
    assert [m.to_address for m in mails] == [KNOWN]  # only the real owner gets a link
    _same_timing(lambda email: _timed(lambda: reset(email)))
