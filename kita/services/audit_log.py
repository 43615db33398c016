"""Reading the audit log (read-only for everyone): filter and page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select

from kita.extensions import db
from kita.models import AuditEvent, User

PAGE_SIZE = 100


@dataclass
class AuditPage:
    rows: list[tuple[AuditEvent, str | None]]  # event, actor e-mail
    total: int
    page: int
    pages: int


def search(
    *,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    actor_email: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    page: int = 1,
) -> AuditPage:
    stmt = select(AuditEvent, User.email).outerjoin(User, AuditEvent.actor_id == User.id)
    count = select(func.count(AuditEvent.id)).outerjoin(User, AuditEvent.actor_id == User.id)
    conds: list[Any] = []
    if action:
        conds.append(AuditEvent.action.like(f"{action.strip()}%"))
    if object_type:
        conds.append(AuditEvent.object_type == object_type.strip().lower())
    if object_id:
        conds.append(AuditEvent.object_id == object_id.strip())
    if actor_email:
        conds.append(User.email == actor_email.strip().lower())
    if date_from:
        conds.append(AuditEvent.created_at >= datetime.combine(date_from, time.min, tzinfo=UTC))
    if date_to:
        end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=UTC)
        conds.append(AuditEvent.created_at < end)
    if conds:
        stmt = stmt.where(*conds)
        count = count.where(*conds)
    total = db.session.scalar(count) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    rows = db.session.execute(
        stmt.order_by(AuditEvent.id.desc()).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).all()
    return AuditPage([(e, mail) for e, mail in rows], total, page, pages)
