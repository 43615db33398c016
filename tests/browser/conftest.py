"""Real-browser fixtures: a live server, Debian's Chromium through Playwright, helpers.

Reuse these in every browser test:

- ``live_server``: the app (``create_app``, ENV_NAME testing, CSRF ON so the real forms
  are exercised) served by werkzeug in a thread on a free port; ``.url``, ``.app``.
  The fixtures ``app`` / ``db`` / ``municipality`` / ``make_user`` of tests/conftest.py
  work against the same database (``app`` is overridden here), so data can be created
  through services before driving the browser. End the test's own transaction before
  the browser acts (``db.session.commit(); db.session.close()``): on SQLite every
  transaction holds the write lock (BEGIN IMMEDIATE) and the server would wait for it.
- ``browser`` (session-wide Chromium), ``page`` (1280x900) and ``phone_page`` (360x740),
  both German (``de-DE``), default timeout 10 s.
- ``shot(page, name)``: full-page screenshot to ``screenshots/<test-name>/<name>.png``.
- ``axe_violations(page)``: serious and critical axe-core violations of the current page.
- ``mail_links(to)`` / ``last_mail_link(to)``: links in the outbox mails to an address.
- ``login(page, email, password)`` / ``logout(page)``: through the real forms.

Every test in this folder is marked ``browser`` automatically.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import BaseWSGIServer, make_server

from kita import create_app
from kita.extensions import db as _db

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}
TIMEOUT_MS = 10_000


def pytest_collection_modifyitems(config: Any, items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@dataclass
class LiveServer:
    app: Flask
    url: str
    server: BaseWSGIServer
    thread: threading.Thread

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start_live_server(database_url: str, **overrides: Any) -> LiveServer:
    """Create the app on ``database_url`` (tables created) and serve it in a thread."""
    config = {
        "ENV_NAME": "testing",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": True,
        "SERVER_NAME": None,
        "MAIL_SEND_IMMEDIATELY": False,
        "RATELIMIT_ENABLED": False,
    }
    config.update(overrides)
    app = create_app(config)
    with app.app_context():
        _db.drop_all()
        _db.create_all()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["BASE_URL"] = url
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    return LiveServer(app=app, url=url, server=server, thread=thread)


def stop_live_server(live: LiveServer) -> None:
    live.stop()
    with live.app.app_context():
        _db.session.remove()
        _db.drop_all()
        _db.engine.dispose()


@pytest.fixture
def live_server(database_url: str) -> Iterator[LiveServer]:
    live = start_live_server(database_url)
    yield live
    stop_live_server(live)


@pytest.fixture
def app(live_server: LiveServer) -> Iterator[Flask]:
    """The live server's app with an app context for the test's own setup code."""
    with live_server.app.app_context():
        yield live_server.app
        _db.session.remove()


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_instance: Any) -> Iterator[Any]:
    browser = playwright_instance.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


def new_page(browser: Any, viewport: dict[str, int], **kwargs: Any) -> Any:
    context = browser.new_context(
        viewport=viewport, locale="de-DE", timezone_id="Europe/Berlin", **kwargs
    )
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    page = new_page(browser, DESKTOP)
    yield page
    page.context.close()


@pytest.fixture
def phone_page(browser: Any) -> Iterator[Any]:
    page = new_page(browser, PHONE, is_mobile=True, has_touch=True)
    yield page
    page.context.close()


def screenshot_dir(test_name: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name).strip("_")
    folder = SCREENSHOTS / safe
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[[Any, str], Path]:
    """``shot(page, "name")`` writes screenshots/<test-name>/<name>.png (full page)."""
    folder = screenshot_dir(request.node.name)

    def _shot(page: Any, name: str) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return _shot


BLOCKING_IMPACTS = ("serious", "critical")


def axe_violations(page: Any, impacts: tuple[str, ...] = BLOCKING_IMPACTS) -> list[str]:
    """The axe-core violations of ``impacts`` on the current page, one readable line each."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    found = []
    for v in results.response.get("violations", []):
        if v.get("impact") in impacts:
            targets = [" ".join(map(str, n.get("target", []))) for n in v.get("nodes", [])][:5]
            found.append(f"{page.url}: {v['id']} ({v['impact']}): {v['help']} at {targets}")
    return found


def type_date(page: Any, value: date) -> None:
    """Type a date into the focused <input type=date>, in the field order this browser uses.

    The order of the day, month and year segments follows the browser's own language,
    so the first typing (01, 02, 2027) tells it; Shift+Tab goes back to the first segment.
    """
    page.keyboard.type("01022027")
    probe = page.evaluate("() => document.activeElement.value")
    day_first = probe == "2027-02-01"
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    first, second = (value.day, value.month) if day_first else (value.month, value.day)
    page.keyboard.type(f"{first:02d}{second:02d}{value.year}")


def horizontal_overflow(page: Any) -> int:
    """How many CSS pixels the page is wider than the viewport (0 = no sideways scroll)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.evaluate("window.innerWidth")
    return max(0, int(width) - int(viewport))


def mail_links(app: Flask, to: str, kind: str | None = None) -> list[str]:
    """Every link in the outbox mails to ``to`` (oldest first), as absolute URLs."""
    from kita.models import OutboxMail

    with app.app_context():
        query = select(OutboxMail).where(OutboxMail.to_address == to.lower())
        if kind is not None:
            query = query.where(OutboxMail.kind == kind)
        mails = _db.session.scalars(query.order_by(OutboxMail.id)).all()
        links = [link for m in mails for link in re.findall(r"https?://[^\s<>\"]+", m.body)]
        _db.session.remove()
    return links


def last_mail_link(app: Flask, to: str, kind: str | None = None) -> str:
    links = mail_links(app, to, kind)
    assert links, f"no mail with a link to {to} (kind={kind})"
    return links[-1]


def login(page: Any, base_url: str, email: str, password: str) -> None:
    """Log in through the real form (German labels of UI.md)."""
    page.goto(base_url + "/login")
    page.get_by_label("E-Mail").fill(email)
    page.get_by_label("Passwort", exact=True).fill(password)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_load_state()


def logout(page: Any) -> None:
    page.get_by_role("button", name="Abmelden").click()
    page.wait_for_load_state()
