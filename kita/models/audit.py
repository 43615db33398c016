"""The audit log: who did what to which record, when. Append-only through the app."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from kita.models.base import Base, UTCDateTime, utcnow


class AuditEvent(Base):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    actor_role: Mapped[str | None] = mapped_column(String(16))
    # pseudonymous reference of the actor, kept when personal data is deleted
    actor_ref: Mapped[str | None] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(60), index=True)
    object_type: Mapped[str | None] = mapped_column(String(40), index=True)
    object_id: Mapped[str | None] = mapped_column(String(60), index=True)
    details: Mapped[str] = mapped_column(Text, default="")
    ip: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(40))
    retention_rewrites: Mapped[int] = mapped_column(Integer, default=0)


class AuditImmutable(Exception):
    """Raised when code outside the retention path tries to change an audit row."""


@event.listens_for(AuditEvent, "before_update")
def _refuse_update(mapper, connection, target) -> None:  # type: ignore[no-untyped-def]
    if not getattr(target, "_retention_rewrite", False):
        raise AuditImmutable("audit rows are append-only")


@event.listens_for(AuditEvent, "before_delete")
def _refuse_delete(mapper, connection, target) -> None:  # type: ignore[no-untyped-def]
    raise AuditImmutable("audit rows are append-only")
