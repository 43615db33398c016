"""Append-only audit log."""

from __future__ import annotations

import json
from typing import Any

from flask import g, has_app_context

from kita.extensions import db
from kita.models import AuditEvent, User


def record(
    actor: User | None,
    action: str,
    obj: Any = None,
    *,
    object_type: str | None = None,
    object_id: Any = None,
    **details: Any,
) -> AuditEvent:
    """Add an audit row to the current transaction (the caller commits)."""
    if obj is not None:
        object_type = object_type or type(obj).__name__.lower()
        object_id = object_id if object_id is not None else getattr(obj, "id", None)
    event = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        actor_role=str(actor.role) if actor is not None else "system",
        actor_ref=f"user-{actor.id}" if actor is not None else None,
        action=action,
        object_type=object_type,
        object_id=str(object_id) if object_id is not None else None,
        details=json.dumps(details, ensure_ascii=False, default=str) if details else "",
    )
    # the web layer puts the client address and request id on ``g`` (kita/security.py);
    # jobs and CLI commands have neither
    event.ip = g.get("client_ip") if has_app_context() else None
    event.request_id = g.get("request_id") if has_app_context() else None
    db.session.add(event)
    return event


def record_now(actor: User | None, action: str, obj: Any = None, **details: Any) -> None:
    """Record and commit at once (reads, denials: nothing else to commit with)."""
    record(actor, action, obj, **details)
    db.session.commit()
