"""The mail outbox: every mail is a row committed with the change that caused it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kita.models.base import Base, StrEnum, UTCDateTime, enum_type, utcnow


class MailStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"  # failed for good; shown to the office
    LETTER = "letter"  # family without e-mail: the office prints a letter


class OutboxMail(Base):
    __tablename__ = "outbox_mail"

    id: Mapped[int] = mapped_column(primary_key=True)
    # stable Message-ID: a mail sent again after a crash is shown once by mail clients
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    to_address: Mapped[str | None] = mapped_column(String(254), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    locale: Mapped[str] = mapped_column(String(5), default="de")
    application_id: Mapped[int | None] = mapped_column(ForeignKey("application.id"), index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"), index=True)
    status: Mapped[MailStatus] = mapped_column(
        enum_type(MailStatus, 10), default=MailStatus.PENDING, index=True
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    printed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
