"""Requirement 3 (and issue 2's access matrix): every route of ``app.url_map`` × every
role answers as the table per blueprint expects. Parent A's records requested by parent
B answer 404, facility staff get 404 for applications that did not choose their
facility, and every such denial is in the audit log. New routes are covered
automatically; a new blueprint fails until it has a row in ``EXPECTED``."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from kita.extensions import db
from kita.models import AuditEvent, CareType, Offer, OfferStatus, Role, User, utcnow
from kita.services import permissions
from tests.conftest import Auth, make_user
from tests.services.round_helpers import released_application

ROLES = ("anonymous", "parent", "other_parent", "office", "facility_own", "facility_other", "admin")
ROLE_OF = {
    "parent": Role.PARENT,
    "other_parent": Role.PARENT,
    "office": Role.OFFICE,
    "facility_own": Role.FACILITY,
    "facility_other": Role.FACILITY,
    "admin": Role.ADMIN,
}
#: path arguments that name a family's record: foreign ones answer 404
RECORD_ARGS = {"app_id", "application_id", "child_id", "offer_id", "household_id"}
GUARDED = {"parents": "parent", "office": "office", "facility": "facility", "admin": "admin"}
OK = {200, 302, 303}
SKIP_ENDPOINTS = {"auth.logout", "static"}  # logout ends the session; static has no rules


def _guarded(blueprint: str) -> Callable[[str, str, set[str], str], set[int] | None]:
    owner = GUARDED[blueprint]

    def expect(role: str, method: str, args: set[str], endpoint: str) -> set[int] | None:
        if role == "anonymous":
            return {302}  # to the login page
        if not role.startswith(owner) and not (owner == "parent" and role == "other_parent"):
            return {403}
        if owner == "parent" and role == "other_parent":
            if args & RECORD_ARGS:
                return {404}
            return OK | {405} if method == "GET" else None  # own pages; no POSTs here
        if owner == "facility" and role == "facility_other" and args & RECORD_ARGS:
            return {404}
        if method != "GET":
            return None  # owners' POSTs are the fuzz test's business (req. 11)
        return OK | {400, 404, 405}  # an unknown id (999999) is a 404 for its owner too

    return expect


def _public(role: str, method: str, args: set[str], endpoint: str) -> set[int] | None:
    if method != "GET":
        return None
    return OK | {503} if endpoint.startswith("health.") else OK


AUTH: dict[str, Callable[[str], set[int] | None]] = {
    "auth.login": lambda r: {200} if r == "anonymous" else {302},
    "auth.register": lambda r: {200} if r == "anonymous" else {302},
    "auth.reset_request": lambda r: {200},
    "auth.reset_password": lambda r: {400},  # an invalid token
    "auth.confirm": lambda r: {400},
    "auth.login_code": lambda r: {302},  # nothing pending
    "auth.change_password": lambda r: {302} if r == "anonymous" else {200},
    "auth.two_factor": lambda r: {302} if r == "anonymous" else {404} if "parent" in r else {200},
    "auth.two_factor_policy": lambda r: (
        {302} if r == "anonymous" else {302} if r in ("office", "admin") else {404}
    ),
}


def _auth(role: str, method: str, args: set[str], endpoint: str) -> set[int] | None:
    if endpoint not in AUTH:
        pytest.fail(f"add {endpoint} to the access matrix (AUTH)")
    if method == "POST" and endpoint != "auth.two_factor_policy":
        return None  # login, registration, reset: see requirements 1, 2 and 8
    return AUTH[endpoint](role)


def _claim(role: str, method: str, args: set[str], endpoint: str) -> set[int] | None:
    """Taking over a family entered by the office: anonymous visitors and parents only."""
    if method != "GET":
        return None
    return {403} if role in ("office", "facility_own", "facility_other", "admin") else OK


EXPECTED: dict[str, Callable[[str, str, set[str], str], set[int] | None]] = {
    "public": _public,
    "health": _public,
    "claim": _claim,
    "auth": _auth,
    **{bp: _guarded(bp) for bp in GUARDED},
}


@pytest.fixture
def world(app: Flask, municipality: dict[str, Any]) -> dict[str, Any]:
    office = make_user(Role.OFFICE, email="office@example.org")
    parent = make_user(Role.PARENT, email="parent.a@example.org")
    application = released_application(municipality, office, ["sonnenschein"], parent=parent)
    facs = municipality["facilities"]
    offer = Offer(
        application_id=application.id,
        facility_id=facs["sonnenschein"].id,
        care_type=CareType.KRIPPE,
        wish_rank=1,
        status=OfferStatus.OPEN,
        deadline=utcnow() + timedelta(days=14),
    )
    db.session.add(offer)
    db.session.commit()
    users = {
        "parent": parent,
        "other_parent": make_user(Role.PARENT, email="parent.b@example.org"),
        "office": office,
        "facility_own": make_user(Role.FACILITY, facility=facs["sonnenschein"]),
        "facility_other": make_user(Role.FACILITY, facility=facs["regenbogen"]),
        "admin": make_user(Role.ADMIN),
    }
    values = {
        "app_id": application.id,
        "application_id": application.id,
        "child_id": application.child_id,
        "household_id": application.child.household_id,
        "offer_id": offer.id,
        "facility_id": facs["sonnenschein"].id,
        "round_id": municipality["round"].id,
        "rule_id": municipality["rules"]["working"].id,
        "user_id": users["facility_own"].id,
        "token": "not-a-valid-token",
        "fmt": "csv",
        "action": "start_review",
    }
    return {"users": users, "values": values, "application": application}


def _path(rule: Any, values: dict[str, Any]) -> str:
    path = rule.rule
    for arg in rule.arguments:
        value = values.get(arg, 999999 if f"int:{arg}" in path else "x")
        path = re.sub(rf"<(?:[^:>]+:)?{arg}>", str(value), path)
    return path


def _denials() -> int:
    return (
        db.session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "access.denied")
        )
        or 0
    )


@pytest.mark.parametrize("role", ROLES)
def test_req03_access_matrix(app: Flask, world: dict[str, Any], role: str) -> None:
    client: FlaskClient = app.test_client()
    if role != "anonymous":
        user: User = world["users"][role]
        assert Auth(client).login(user).status_code == 302
    checked, failures = 0, []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint in SKIP_ENDPOINTS:
            continue
        blueprint = rule.endpoint.rsplit(".", 1)[0] if "." in rule.endpoint else ""
        if blueprint not in EXPECTED:
            pytest.fail(f"blueprint {blueprint!r} ({rule.rule}) has no row in the access matrix")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            expected = EXPECTED[blueprint](role, method, set(rule.arguments), rule.endpoint)
            if expected is None:
                continue
            path = _path(rule, world["values"])
            denials = _denials()
            response = client.open(path, method=method)
            checked += 1
            if response.status_code not in expected:
                failures.append(f"{role} {method} {path}: {response.status_code} not in {expected}")
            elif response.status_code == 302 and expected == {302} and role == "anonymous":
                if "/login" not in response.location:
                    failures.append(f"{role} {method} {path}: redirect to {response.location}")
            if response.status_code in (403, 404) and expected in ({403}, {404}):
                # a denied record or route is in the audit log
                if _denials() <= denials:
                    failures.append(f"{role} {method} {path}: denied without an audit row")
    assert checked >= 20
    assert failures == [], "\n".join(failures)


def test_req03_facility_staff_only_see_applications_that_chose_them(
    app: Flask, world: dict[str, Any]
) -> None:
    application = world["application"]
    own, other = world["users"]["facility_own"], world["users"]["facility_other"]
    with app.test_request_context():
        assert permissions.get_application_or_404(application.id, own).id == application.id
        before = _denials()
        with pytest.raises(Exception) as denied:
            permissions.get_application_or_404(application.id, other)
        assert getattr(denied.value, "code", None) == 404
        assert _denials() == before + 1
        row = db.session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()))
        assert row is not None and row.actor_id == other.id
        assert row.object_id == str(application.id)
        # children are never looked up by id by facility staff
        with pytest.raises(Exception) as denied:
            permissions.get_child_or_404(application.child_id, own)
        assert getattr(denied.value, "code", None) == 404
