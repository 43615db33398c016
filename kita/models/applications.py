"""Applications ("Vormerkungen") with ranked wishes, criteria, status events and notes."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
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
    from kita.models.facilities import Facility, Round
    from kita.models.households import Child
    from kita.models.offers import Offer
    from kita.models.rules import PriorityRule


class Status(StrEnum):
    DRAFT = "draft"  # Entwurf
    SUBMITTED = "submitted"  # Eingegangen
    IN_REVIEW = "in_review"  # In Prüfung
    QUERY = "query"  # Rückfrage
    RELEASED = "released"  # Freigegeben
    OFFERED = "offered"  # Platzangebot
    ACCEPTED = "accepted"  # Angenommen
    ACCEPTED_WAITING = "accepted_waiting"  # Angenommen – wartet auf Wunschplatz
    ENROLLED = "enrolled"  # Platz belegt
    WAITLIST = "waitlist"  # Warteliste
    REJECTED = "rejected"  # Abgelehnt
    WITHDRAWN = "withdrawn"  # Zurückgezogen
    DECLINED = "declined"  # Abgesagt
    EXPIRED = "expired"  # Verfallen


#: stations after which an application is closed (a new one may be filed)
CLOSED_STATUSES = frozenset(
    {Status.ENROLLED, Status.REJECTED, Status.WITHDRAWN, Status.DECLINED, Status.EXPIRED}
)
_OPEN_SQL = "status NOT IN ('enrolled', 'rejected', 'withdrawn', 'declined', 'expired')"

STATUS_ENUM = enum_type(Status, 20)


class Source(StrEnum):
    ONLINE = "online"
    OFFICE = "office"
    IMPORT = "import"


class Application(Base):
    __tablename__ = "application"
    __table_args__ = (
        # one open application per child and round
        Index(
            "uq_application_open_child_round",
            "child_id",
            "round_id",
            unique=True,
            sqlite_where=text(_OPEN_SQL),
            postgresql_where=text(_OPEN_SQL),
        ),
        CheckConstraint("weekly_hours IS NULL OR weekly_hours BETWEEN 1 AND 60", "hours"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)  # e.g. KV-2027-00017
    child_id: Mapped[int] = mapped_column(ForeignKey("child.id"), index=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"), index=True)
    status: Mapped[Status] = mapped_column(STATUS_ENUM, default=Status.DRAFT, index=True)
    care_type: Mapped[CareType] = mapped_column(CARE_TYPE_ENUM, index=True)
    start_date: Mapped[date] = mapped_column(Date)
    weekly_hours: Mapped[int | None] = mapped_column(Integer)
    remarks: Mapped[str] = mapped_column(Text, default="")
    # siblings filed together who asked to be placed together share a group key
    sibling_group: Mapped[str | None] = mapped_column(String(40), index=True)
    source: Mapped[Source] = mapped_column(enum_type(Source, 10), default=Source.ONLINE)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    reject_reason: Mapped[str | None] = mapped_column(Text)
    # set when a facility reported "Aufnahme nicht möglich" and the office must act
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    flag_reason: Mapped[str | None] = mapped_column(Text)
    # the explanation of the published allocation outcome (kita-allocation explanations)
    outcome: Mapped[str | None] = mapped_column(Text)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("application.id"))
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    legal_hold_reason: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # yearly re-confirmation of waiting-list entries (kita.services.reminders)
    reconfirm_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reconfirm_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reconfirm_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reconfirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # retention (kita.services.retention): notice to the family, then pseudonymisation
    retention_notice_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    pseudonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    child: Mapped[Child] = relationship(back_populates="applications")
    round: Mapped[Round] = relationship()
    wishes: Mapped[list[Wish]] = relationship(
        back_populates="application", cascade="all, delete-orphan", order_by="Wish.rank"
    )
    criteria: Mapped[list[ApplicationCriterion]] = relationship(
        back_populates="application", cascade="all, delete-orphan"
    )
    events: Mapped[list[StatusEvent]] = relationship(
        back_populates="application",
        cascade="all, delete-orphan",
        order_by="StatusEvent.id",
    )
    notes: Mapped[list[InternalNote]] = relationship(
        back_populates="application", cascade="all, delete-orphan", order_by="InternalNote.id"
    )
    offers: Mapped[list[Offer]] = relationship(
        back_populates="application", cascade="all, delete-orphan", order_by="Offer.id"
    )

    @property
    def is_open(self) -> bool:
        return self.status not in CLOSED_STATUSES

    @property
    def facility_ids(self) -> list[int]:
        return [w.facility_id for w in self.wishes]


class Wish(Base):
    """A ranked facility wish (rank 1 is the first wish)."""

    __tablename__ = "wish"
    __table_args__ = (
        UniqueConstraint("application_id", "rank"),
        UniqueConstraint("application_id", "facility_id"),
        CheckConstraint("rank BETWEEN 1 AND 5", "rank"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"))
    facility_id: Mapped[int] = mapped_column(ForeignKey("facility.id"), index=True)
    rank: Mapped[int] = mapped_column(Integer)

    application: Mapped[Application] = relationship(back_populates="wishes")
    facility: Mapped[Facility] = relationship()


class ApplicationCriterion(Base):
    """A priority criterion as declared by the family and as verified by the office.

    For facility-specific rules ``facility_id`` names the wished facility it applies to.
    Only verified criteria count for points.
    """

    __tablename__ = "application_criterion"
    __table_args__ = (UniqueConstraint("application_id", "rule_id", "facility_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("priority_rule.id"))
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facility.id"))
    declared: Mapped[bool] = mapped_column(Boolean, default=True)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    application: Mapped[Application] = relationship(back_populates="criteria")
    rule: Mapped[PriorityRule] = relationship()


class StatusEvent(Base):
    """One station of the timeline: who moved the application where, when and why."""

    __tablename__ = "status_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    action: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[Status | None] = mapped_column(STATUS_ENUM)
    to_status: Mapped[Status] = mapped_column(STATUS_ENUM)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # message to the parents (shown in the timeline and the e-mail)
    message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

    application: Mapped[Application] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class InternalNote(Base):
    """An office note on an application; never shown to parents."""

    __tablename__ = "internal_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    application: Mapped[Application] = relationship(back_populates="notes")
    author: Mapped[User | None] = relationship()


class ReferenceCounter(Base):
    """Sequence of reference numbers per year (KV-<year>-<number>)."""

    __tablename__ = "reference_counter"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer, default=0)
