"""Blueprint registration, the role guard, error pages and template helpers."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from flask import Blueprint, Flask, Response, abort, g, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from kita.errors import Conflict, DomainError, InvalidTransition, NotAllowed, NotFound
from kita.extensions import login_manager
from kita.models import Role
from kita.services import notifications, settings
from kita.services.stations import care_type_label, station_label

log = logging.getLogger("kita")


def download(content: str | bytes, mimetype: str, filename: str) -> Response:
    """A file the browser saves under ``filename`` (exports, JSON of a run)."""
    return Response(
        content,
        mimetype=mimetype,
        headers={"Content-Disposition": f"attachment; filename={filename}"},
    )


def guard_role(bp: Blueprint, roles: Iterable[Role]) -> None:
    """Every route of ``bp`` requires login and one of ``roles`` (403 for other roles)."""
    allowed = frozenset(roles)

    @bp.before_request
    def _guard() -> Any:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if current_user.role not in allowed:
            from kita.services import audit

            # a role knocking on another role's pages is a denial worth recording
            audit.record_now(
                current_user, "access.denied", object_type="route", object_id=request.endpoint
            )
            abort(403)
        return None


def init_app(app: Flask) -> None:
    from kita.admin.views import bp as admin_bp
    from kita.auth.views import bp as auth_bp
    from kita.facility.views import bp as facility_bp
    from kita.office.claim import bp as claim_bp
    from kita.office.views import bp as office_bp
    from kita.parents.views import bp as parents_bp
    from kita.public.views import bp as public_bp

    for bp in (public_bp, auth_bp, parents_bp, office_bp, facility_bp, admin_bp, claim_bp):
        app.register_blueprint(bp)
    from kita.health import init_app as init_health  # /healthz and request logs

    init_health(app)

    @app.context_processor
    def _helpers() -> dict[str, Any]:
        return {
            "station_label": station_label,
            "care_type_label": care_type_label,
            "Role": Role,
            "csp_nonce": getattr(g, "csp_nonce", ""),
            "municipality": settings.get("municipality_name"),
            "municipality_info": settings.municipality(),
        }

    @app.after_request
    def _deliver_mail_in_development(response: Any) -> Any:
        if g.get("mail_queued") and app.config.get("MAIL_SEND_IMMEDIATELY"):
            try:
                notifications.send_pending(batch=20)
            except Exception:  # noqa: BLE001 - the outbox keeps the mail for the job
                log.exception("mail delivery after request failed")
        return response

    def _page(code: int, template: str = "errors/error.html", **ctx: Any) -> Any:
        return render_template(template, code=code, **ctx), code

    @app.errorhandler(400)
    def _bad_request(e: Exception) -> Any:
        return _page(400)

    @app.errorhandler(CSRFError)
    def _csrf(e: Exception) -> Any:
        return _page(400, reason="csrf")

    @app.errorhandler(403)
    def _forbidden(e: Exception) -> Any:
        return _page(403)

    @app.errorhandler(404)
    def _not_found(e: Exception) -> Any:
        return _page(404)

    @app.errorhandler(405)
    def _not_allowed(e: Exception) -> Any:
        return _page(405)

    @app.errorhandler(429)
    def _too_many(e: Exception) -> Any:
        return _page(429)

    @app.errorhandler(NotFound)
    def _domain_not_found(e: NotFound) -> Any:
        return _page(404)

    @app.errorhandler(NotAllowed)
    def _domain_forbidden(e: NotAllowed) -> Any:
        return _page(403)

    @app.errorhandler(InvalidTransition)
    @app.errorhandler(Conflict)
    def _domain_conflict(e: DomainError) -> Any:
        return _page(409, message=e.message)

    @app.errorhandler(500)
    def _server_error(e: Exception) -> Any:
        log.error("server error on %s %s", request.method, request.path)
        return _page(500)
