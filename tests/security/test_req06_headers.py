"""Requirement 6: security headers on every response, no-store on authenticated pages,
no assets from other hosts, and no inline script without the response's nonce."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from kita.models import Role
from tests.conftest import Auth, make_user

ROOT = Path(__file__).resolve().parents[2]
ASSET_TAG = re.compile(
    r"<(?:script|link|img|iframe|source|embed|object|audio|video|frame)\b[^>]*?"
    r"\b(?:src|href|data|srcset)\s*=\s*[\"']?\s*(?:https?:)?//",
    re.IGNORECASE | re.DOTALL,
)
CSS_REMOTE = re.compile(r"(?:@import|url\()\s*[\"']?\s*(?:https?:)?//", re.IGNORECASE)
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)


def _get_routes(app: Flask) -> list[str]:
    """Every GET route, with 1 for each path argument (a foreign or missing id: 404)."""
    paths = set()
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.endpoint == "static":
            continue
        path = rule.rule
        for arg in rule.arguments:
            path = re.sub(rf"<(?:[^:>]+:)?{arg}>", "1", path)
        paths.add(path)
    return sorted(paths)


def _check_headers(response, path: str, authenticated: bool) -> None:  # type: ignore[no-untyped-def]
    h = response.headers
    csp = h.get("Content-Security-Policy", "")
    script_src = next((d for d in csp.split(";") if d.strip().startswith("script-src")), "")
    assert script_src and "'unsafe-inline'" not in script_src, (path, csp)
    assert "'unsafe-eval'" not in csp, (path, csp)
    assert "frame-ancestors 'none'" in csp, (path, csp)
    assert "default-src 'self'" in csp and "object-src 'none'" in csp, (path, csp)
    assert h.get("X-Content-Type-Options") == "nosniff", path
    assert h.get("Referrer-Policy") in ("same-origin", "no-referrer", "strict-origin"), path
    if authenticated:
        assert "no-store" in h.get("Cache-Control", ""), path
    body = response.get_data(as_text=True)
    nonce = re.search(r"'nonce-([^']+)'", csp)
    for tag in INLINE_SCRIPT.findall(body):
        assert nonce and f'nonce="{nonce.group(1)}"' in tag, (path, tag)


@pytest.mark.parametrize("role", [None, Role.PARENT, Role.OFFICE, Role.FACILITY, Role.ADMIN])
def test_req06_headers_on_every_route(app: Flask, municipality, role: Role | None) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    if role is not None:
        facility = municipality["facilities"]["pusteblume"] if role == Role.FACILITY else None
        Auth(client).login(make_user(role, facility=facility))
    paths = _get_routes(app)
    assert len(paths) >= 10
    for path in paths + ["/does-not-exist", "/static/kita.css"]:
        response = client.get(path)
        assert response.status_code < 500, (path, response.status_code)
        _check_headers(response, path, authenticated=role is not None and "/static/" not in path)


def test_req06_hsts_outside_development(make_app: Callable[..., Flask]) -> None:
    prod = make_app(ENV_NAME="production", SECRET_KEY="k" * 48)
    response = prod.test_client().get("/", base_url="https://localhost")
    assert "max-age=31536000" in response.headers["Strict-Transport-Security"]
    dev = make_app(ENV_NAME="development")
    assert "Strict-Transport-Security" not in dev.test_client().get("/").headers


def test_req06_framing_refused(client: FlaskClient) -> None:
    """Clickjacking: no page may be framed, by CSP and the legacy header."""
    response = client.get("/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_req06_reflected_script_is_escaped(client: FlaskClient) -> None:
    payload = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
    response = client.post("/login", data={"email": payload, "password": payload})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<script>alert(1)" not in body and "<img src=x" not in body
    assert "&lt;script&gt;" in body or "&#34;&gt;&lt;script" in body or "&gt;&lt;script" in body


def test_req06_no_assets_from_other_hosts() -> None:
    """Templates and CSS load nothing from another host; inline scripts carry the nonce."""
    offenders = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        if ASSET_TAG.search(text) or CSS_REMOTE.search(text):
            offenders.append(str(path.relative_to(ROOT)))
        for tag in INLINE_SCRIPT.findall(text):
            if "csp_nonce" not in tag:
                offenders.append(f"{path.relative_to(ROOT)}: {tag}")
        if re.search(r"\son[a-z]+\s*=\s*[\"']", text):  # inline event handlers need unsafe-inline
            offenders.append(f"{path.relative_to(ROOT)}: inline event handler")
    for path in sorted((ROOT / "kita" / "static").rglob("*.css")):
        if CSS_REMOTE.search(path.read_text(encoding="utf-8")):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
