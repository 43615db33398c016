"""The audit log: who did what to which record, when. Append-only through the app."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, event
from sqlalchemy.orm import Mapped, Session, mapped_column

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


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(state) -> None:  # type: ignore[no-untyped-def]
    """Bulk UPDATE/DELETE statements bypass the mapper events above: refuse them too.

    Allowed: the retention job (``execution_options(audit_retention=True)``) and unlinking
    a deleted account (setting only ``actor_id`` to NULL; ``actor_ref`` stays).
    """
    if not (state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) != AuditEvent.__tablename__:
        return
    if state.execution_options.get("audit_retention"):
        return
    if state.is_update:
        values = getattr(state.statement, "_values", None) or {}
        names = {getattr(k, "key", getattr(k, "name", str(k))) for k in values}
        if names == {"actor_id"} and all(
            getattr(v, "value", None) is None for v in values.values()
        ):
            return
    raise AuditImmutable("audit rows are append-only")
