"""Requirement 11: hostile input. Every form the app shows (discovered by fetching the
pages as each role and parsing their <form> elements) gets malformed, oversized and
unexpected values from hypothesis strategies: no answer is a server error, and nothing
stored breaks the schema (over-long strings, NUL bytes)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Enum, String, Text, func, select

from kita.extensions import db
from kita.models import Base, Role
from tests.conftest import Auth, make_user
from tests.services.round_helpers import released_application

#: forms that end the session or the account: their own tests cover them
SKIP_ACTIONS = ("/logout", "/parent/data/delete", "/account/password", "/account/two-factor")

HOSTILE = st.one_of(
    st.text(max_size=40),
    st.text(min_size=300, max_size=400),
    st.just("x" * 20000),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "a\x00b",
            "-1",
            "0",
            "99999999999999999999999",
            "1e309",
            "NaN",
            "2024-02-30",
            "31.12.2025",
            "0000-00-00",
            "' OR 1=1 --",
            "<script>alert(1)</script>",
            "{{ 7*7 }}",
            "../../etc/passwd",
            "\u202e\u0000\ud7ff",
            "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
            "999999",
        ]
    ),
    st.integers(min_value=-(2**63), max_value=2**63).map(str),
)


class FormParser(HTMLParser):
    """The POST forms of a page: action and fields (with the options of selects)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self._form: dict[str, Any] | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = {
                "action": a.get("action", ""),
                "method": a.get("method", "get").lower(),
                "fields": {},
            }
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag in ("input", "textarea") and a.get("name"):
            if a.get("type") not in ("submit", "button", "hidden") or a["name"] != "csrf_token":
                self._form["fields"].setdefault(a["name"], [])
                if a.get("value") and a.get("type") in ("radio", "checkbox", "hidden"):
                    self._form["fields"][a["name"]].append(a["value"])
        elif tag == "select" and a.get("name"):
            self._select = a["name"]
            self._form["fields"].setdefault(self._select, [])
        elif tag == "option" and self._select is not None:
            self._form["fields"][self._select].append(a.get("value", ""))
        elif tag == "button" and a.get("name"):
            self._form["fields"].setdefault(a["name"], []).append(a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def _pages(app: Flask, values: dict[str, int]) -> list[str]:
    paths = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.endpoint == "static":
            continue
        if not set(rule.arguments) <= set(values):
            continue
        path = rule.rule
        for arg in rule.arguments:
            path = re.sub(rf"<(?:[^:>]+:)?{arg}>", str(values[arg]), path)
        paths.append(path)
    return sorted(paths)


def _discover(client: FlaskClient, pages: list[str]) -> dict[tuple[str, tuple[str, ...]], Any]:
    found: dict[tuple[str, tuple[str, ...]], Any] = {}
    for page in pages:
        response = client.get(page)
        if response.status_code != 200 or "html" not in response.content_type:
            continue
        parser = FormParser()
        parser.feed(response.get_data(as_text=True))
        for form in parser.forms:
            action = form["action"] or page
            if form["method"] != "post" or action.startswith(SKIP_ACTIONS):
                continue
            found[(action, tuple(sorted(form["fields"])))] = form
    return found


def _fields(form: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Each field: hostile text, or one of its offered values; sometimes missing; plus
    an unexpected extra field."""
    parts = {}
    for name, options in form["fields"].items():
        choices = [o for o in options if o]
        value = st.one_of(HOSTILE, st.sampled_from(choices)) if choices else HOSTILE
        parts[name] = st.one_of(value, st.lists(HOSTILE, max_size=3), st.none())
    parts["unexpected_field"] = st.one_of(st.none(), HOSTILE)
    return st.fixed_dictionaries(parts).map(lambda d: {k: v for k, v in d.items() if v is not None})


def _stored_garbage() -> list[str]:
    problems = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if not isinstance(column.type, (String, Text)) or isinstance(column.type, Enum):
                continue
            limit = getattr(column.type, "length", None)
            if limit:
                longest = db.session.scalar(select(func.max(func.length(column))))
                if longest and longest > limit:
                    problems.append(f"{table.name}.{column.name}: {longest} > {limit}")
            if db.engine.dialect.name != "sqlite":
                continue  # PostgreSQL refuses NUL in text itself (that would be a 500 above)
            nul = db.session.scalar(
                select(func.count()).select_from(table).where(func.instr(column, func.char(0)) > 0)
            )
            if nul:
                problems.append(f"{table.name}.{column.name}: NUL byte stored")
    return problems


@pytest.mark.parametrize("role", [None, Role.PARENT, Role.OFFICE, Role.FACILITY, Role.ADMIN])
def test_req11_fuzz_every_form(app: Flask, municipality: dict[str, Any], role: Role | None) -> None:
    office = make_user(Role.OFFICE, email="office.fuzz@example.org")
    parent = make_user(Role.PARENT, email="parent.fuzz@example.org")
    application = released_application(municipality, office, ["sonnenschein"], parent=parent)
    facs = municipality["facilities"]
    user = (
        {
            Role.PARENT: parent,
            Role.OFFICE: office,
            Role.FACILITY: make_user(Role.FACILITY, facility=facs["sonnenschein"]),
            Role.ADMIN: make_user(Role.ADMIN),
        }.get(role)
        if role
        else None
    )
    client = app.test_client()
    if user is not None:
        assert Auth(client).login(user).status_code == 302
    values = {
        "app_id": application.id,
        "child_id": application.child_id,
        "facility_id": facs["sonnenschein"].id,
        "round_id": municipality["round"].id,
        "rule_id": municipality["rules"]["working"].id,
    }
    forms = _discover(client, _pages(app, values))
    if role in (None, Role.PARENT, Role.OFFICE):
        assert forms, "no forms found"
    errors: list[str] = []

    def fuzzer(action: str, form: dict[str, Any]) -> Any:
        @settings(
            max_examples=6,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(data=_fields(form))
        def post(data: dict[str, Any]) -> None:
            response = client.post(action, data=data)
            if response.status_code >= 500:
                errors.append(f"{action} {data!r}: {response.status_code}")
            assert response.status_code < 500

        return post

    for (action, _), form in sorted(forms.items()):
        try:
            fuzzer(action, form)()
        except AssertionError:
            pass  # collected in ``errors``; go on with the next form
        if user is not None and client.get("/account/password").status_code != 200:
            assert Auth(client).login(user).status_code == 302  # a form ended the session
    assert errors == [], "\n".join(errors[:20])
    assert _stored_garbage() == []


def test_req11_nul_bytes_refused_everywhere(client: FlaskClient) -> None:
    """NUL never reaches a form: SQLite would store it and PostgreSQL would fail on it."""
    for data in ({"email": "a\x00@example.org", "password": "x"}, {"email": ["ok", "\x00"]}):
        assert client.post("/login", data=data).status_code == 400
    assert client.get("/?lang=\x00").status_code == 400
