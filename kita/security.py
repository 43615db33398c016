"""Session handling, response headers and the login manager's user loader."""

from __future__ import annotations

import secrets
import time

from flask import Flask, Response, current_app, g, request, session
from flask_login import current_user, logout_user

from kita.extensions import db, login_manager
from kita.models import User


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        # the id carries the session version: logout and password changes end old sessions
        try:
            raw_id, raw_version = user_id.split(":", 1)
            uid, version = int(raw_id), int(raw_version)
        except ValueError:
            return None
        user = db.session.get(User, uid)
        if user is None or user.session_version != version or not user.is_active:
            return None
        return user

    @app.before_request
    def _request_id() -> None:
        g.request_id = request.headers.get("X-Request-Id", "")[:40] or secrets.token_hex(8)
        g.csp_nonce = secrets.token_urlsafe(16)

    @app.before_request
    def _staff_idle_timeout() -> None:
        if not current_user.is_authenticated or not current_user.is_staff:
            return
        now = time.time()
        last = session.get("seen")
        timeout = current_app.config["STAFF_IDLE_TIMEOUT"].total_seconds()
        if last is not None and now - float(last) > timeout:
            logout_user()
            session.clear()
            return
        session["seen"] = now

    @app.after_request
    def _headers(response: Response) -> Response:
        nonce = getattr(g, "csp_nonce", "")
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; "
            f"script-src 'self' 'nonce-{nonce}'; "
            "style-src 'self'; img-src 'self' data:; font-src 'self'; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if current_app.config.get("HSTS"):
            response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        if current_user.is_authenticated and not request.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        response.headers["X-Request-Id"] = getattr(g, "request_id", "")
        return response
