"""Session handling, response headers, the login manager's user loader, and the
mandatory second factor for staff. See docs/security.md for what is protected how."""

from __future__ import annotations

import secrets
import time

from flask import (
    Flask,
    Response,
    abort,
    current_app,
    g,
    redirect,
    request,
    session,
    url_for,
)
from flask_login import current_user, logout_user
from werkzeug.middleware.proxy_fix import ProxyFix

from kita.extensions import login_manager
from kita.models import User
from kita.services import overview

#: the last activity of staff is noted at most this often (seconds), so most requests
#: send no new session cookie; an idle session then ends up to this much earlier
SEEN_RESOLUTION = 60

#: endpoints a staff member without the mandatory second factor may still reach
ENROLMENT_ENDPOINTS = frozenset(
    {"auth.two_factor", "auth.logout", "static", "public.privacy", "public.accessibility"}
)


def init_app(app: Flask) -> None:
    proxies = int(app.config.get("PROXY_FIX_X_FOR") or 0)
    if proxies:
        # behind a reverse proxy: the client address (rate limits, audit log) and the scheme
        # come from X-Forwarded-For / -Proto set by exactly ``proxies`` trusted proxies
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=0, x_prefix=0
        )
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
        # the same query reads the household's overview version (kita.services.overview)
        found = overview.user_with_household(uid)
        user = found[0] if found else None
        if user is None or user.session_version != version or not user.is_active:
            g.pop("overview_version", None)
            return None
        return user

    @app.before_request
    def _request_id() -> None:
        g.request_id = request.headers.get("X-Request-Id", "")[:40] or secrets.token_hex(8)
        g.client_ip = request.remote_addr
        g.csp_nonce = secrets.token_urlsafe(16)

    @app.before_request
    def _refuse_nul_bytes() -> None:
        # NUL is never meaningful text: SQLite would store it, PostgreSQL fails on it
        sources = [request.args] + ([request.form] if request.method == "POST" else [])
        for source in sources:
            for _name, values in source.lists():
                if any("\x00" in value for value in values):
                    abort(400)
        if "\x00" in request.path:
            abort(400)

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
        if last is None or now - float(last) >= SEEN_RESOLUTION:
            # not on every request: an unchanged session is not signed and sent again
            session["seen"] = now

    @app.before_request
    def _mandatory_second_factor() -> Response | None:
        if not current_user.is_authenticated or not current_user.is_staff:
            return None
        if request.endpoint in ENROLMENT_ENDPOINTS:
            return None
        from kita.services import security as security_service

        if security_service.must_enrol(current_user):
            return redirect(url_for("auth.two_factor"))  # type: ignore[return-value]
        return None

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
        if not request.path.startswith("/static/") and (
            current_user.is_authenticated or request.blueprint == "auth"
        ):
            # personal pages and pages with tokens in the address stay out of every cache
            response.headers["Cache-Control"] = "no-store"
        response.headers["X-Request-Id"] = getattr(g, "request_id", "")
        return response
