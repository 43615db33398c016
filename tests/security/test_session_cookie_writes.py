"""Requests that change nothing in the session send no new session cookie: parents never
(their overview, the help page), staff only when the idle timer's note is a minute old.
The idle timeout itself is proven in test_req05_sessions.py."""

from __future__ import annotations

import time
from datetime import timedelta

import time_machine
from flask import Flask
from flask.testing import FlaskClient

from kita.models import Role
from kita.security import SEEN_RESOLUTION
from tests.conftest import Auth, make_user


def _sets_cookie(client: FlaskClient, path: str) -> bool:
    response = client.get(path)
    assert response.status_code == 200, path
    return any(h.startswith("session=") for h in response.headers.getlist("Set-Cookie"))


def test_parent_requests_send_no_new_session_cookie(client: FlaskClient) -> None:
    Auth(client).login(make_user(Role.PARENT))
    client.get("/parent/")  # the first page stores the CSRF token in the session
    assert not _sets_cookie(client, "/parent/")
    assert not _sets_cookie(client, "/parent/")
    assert not _sets_cookie(client, "/help")


def test_staff_activity_is_noted_at_most_once_a_minute(app: Flask, municipality) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    user = make_user(Role.OFFICE)
    with time_machine.travel(time.time(), tick=False) as clock:
        Auth(client).login(user)
        client.get("/office/")
        assert not _sets_cookie(client, "/office/")
        clock.shift(timedelta(seconds=SEEN_RESOLUTION - 1))
        assert not _sets_cookie(client, "/office/")
        clock.shift(timedelta(seconds=2))
        assert _sets_cookie(client, "/office/")  # the note is renewed
        assert not _sets_cookie(client, "/office/")
        # activity every 50 seconds keeps the session alive far past the idle timeout
        for _ in range(40):
            clock.shift(timedelta(seconds=50))
            assert client.get("/office/").status_code == 200
