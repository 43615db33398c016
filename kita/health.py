"""``/healthz`` for the load balancer: database reachable, age of the scheduler heartbeat.

Answers 200 while the database answers (a web worker is useful without a scheduler),
503 otherwise. The scheduler part says ``ok``, ``stale`` or ``missing``; monitoring
alerts on it.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify
from sqlalchemy import select, text

from kita.extensions import db, limiter
from kita.models import SchedulerLock, utcnow

bp = Blueprint("health", __name__)
log = logging.getLogger("kita.health")


def init_app(app: Flask) -> None:
    """Register ``/healthz`` and the structured request log."""
    from kita.logging import init_app as init_logging

    app.register_blueprint(bp)
    init_logging(app)


@bp.route("/healthz")
@limiter.exempt
def healthz() -> Any:
    body: dict[str, Any] = {"status": "ok"}
    try:
        db.session.execute(text("SELECT 1"))
        lock = db.session.scalar(select(SchedulerLock).where(SchedulerLock.name == "scheduler"))
        db.session.rollback()
        body["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means "not healthy"
        db.session.rollback()
        log.warning("health check: database unreachable: %s", exc)
        body.update(status="error", database="unreachable")
        return jsonify(body), 503
    stale = float(current_app.config.get("SCHEDULER_STALE_SECONDS", 90))
    if lock is None or lock.heartbeat_at is None:
        body["scheduler"] = {"status": "missing", "heartbeat_age_seconds": None}
    else:
        age = (utcnow() - lock.heartbeat_at).total_seconds()
        body["scheduler"] = {
            "status": "ok" if age <= stale else "stale",
            "heartbeat_age_seconds": round(age, 1),
        }
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response
