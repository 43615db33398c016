"""Allocation runs, place offers and enrollments."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kita.models.base import Base, StrEnum, UTCDateTime, enum_type, utcnow
from kita.models.facilities import CARE_TYPE_ENUM, CareType

if TYPE_CHECKING:
    from kita.models.accounts import User
    from kita.models.applications import Application
    from kita.models.facilities import Facility, Round


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class AllocationRun(Base):
    """One execution of the allocation over a round's released applications."""

    __tablename__ = "allocation_run"
    __table_args__ = (
        # only one run per round at a time
        Index(
            "uq_allocation_run_active_round",
            "round_id",
            unique=True,
            sqlite_where=text("status IN ('queued', 'running')"),
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"), index=True)
    status: Mapped[RunStatus] = mapped_column(enum_type(RunStatus, 12), default=RunStatus.QUEUED)
    mode: Mapped[str] = mapped_column(String(20), default="stable")
    siblings: Mapped[str] = mapped_column(String(10), default="together")
    follow_up: Mapped[bool] = mapped_column(Boolean, default=False)
    options_json: Mapped[str] = mapped_column(Text, default="{}")
    problem_json: Mapped[str | None] = mapped_column(Text)
    result_json: Mapped[str | None] = mapped_column(Text)
    solver_version: Mapped[str | None] = mapped_column(String(60))
    progress: Mapped[int] = mapped_column(Integer, default=0)  # percent
    progress_message: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(String(120))  # host:pid that runs it
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    solve_seconds: Mapped[float | None] = mapped_column(Float)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    round: Mapped[Round] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])


class OverrideKind(StrEnum):
    LOCK = "lock"
    BAN = "ban"


class AllocationOverride(Base):
    """A lock (forced assignment) or ban (forbidden wish) set by the office for a round."""

    __tablename__ = "allocation_override"
    __table_args__ = (UniqueConstraint("round_id", "application_id", "facility_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"))
    facility_id: Mapped[int] = mapped_column(ForeignKey("facility.id"))
    kind: Mapped[OverrideKind] = mapped_column(enum_type(OverrideKind, 8))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OfferStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    RELEASED = "released"  # an accepted place given up (upgrade, withdrawal, refusal)
    WITHDRAWN = "withdrawn"  # taken back by the office before an answer


class Offer(Base):
    __tablename__ = "offer"
    __table_args__ = (
        # one pending offer per application
        Index(
            "uq_offer_open_application",
            "application_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facility.id"), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("allocation_run.id"))
    care_type: Mapped[CareType] = mapped_column(CARE_TYPE_ENUM)
    wish_rank: Mapped[int | None] = mapped_column(Integer)  # None: alternative offer
    alternative: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[OfferStatus] = mapped_column(
        enum_type(OfferStatus, 12), default=OfferStatus.OPEN, index=True
    )
    deadline: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # "accept and stay in the queue" for better-ranked wishes
    keeps_waiting: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    application: Mapped[Application] = relationship(back_populates="offers")
    facility: Mapped[Facility] = relationship()
    enrollment: Mapped[Enrollment | None] = relationship(back_populates="offer", uselist=False)


class EnrollmentStatus(StrEnum):
    CONFIRMED = "confirmed"  # Aufnahme bestätigt
    REFUSED = "refused"  # Aufnahme nicht möglich


class Enrollment(Base):
    """The facility's answer to an accepted offer."""

    __tablename__ = "enrollment"

    id: Mapped[int] = mapped_column(primary_key=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("offer.id"), unique=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facility.id"), index=True)
    status: Mapped[EnrollmentStatus] = mapped_column(enum_type(EnrollmentStatus, 12))
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    offer: Mapped[Offer] = relationship(back_populates="enrollment")
