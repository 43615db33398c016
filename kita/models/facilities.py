"""Facilities (Kitas), the care types they offer, rounds and capacities."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kita.models.base import Base, StrEnum, UTCDateTime, enum_type, utcnow

if TYPE_CHECKING:
    from kita.models.accounts import User


class CareType(StrEnum):
    KRIPPE = "krippe"  # under 3
    KINDERGARTEN = "kindergarten"  # 3 to school
    HORT = "hort"  # school children


CARE_TYPE_ENUM = enum_type(CareType, 16)


class Facility(Base):
    __tablename__ = "facility"

    id: Mapped[int] = mapped_column(primary_key=True)
    # stable public id, used as the facility id of allocation problems
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    operator: Mapped[str] = mapped_column(String(200), default="")
    street: Mapped[str] = mapped_column(String(200), default="")
    postal_code: Mapped[str] = mapped_column(String(10), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    district: Mapped[str] = mapped_column(String(100), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    care_types: Mapped[list[FacilityCareType]] = relationship(
        back_populates="facility", cascade="all, delete-orphan", order_by="FacilityCareType.id"
    )
    capacities: Mapped[list[Capacity]] = relationship(back_populates="facility")
    staff: Mapped[list[User]] = relationship(back_populates="facility")

    def offers(self, care_type: CareType) -> FacilityCareType | None:
        return next((ct for ct in self.care_types if ct.care_type == care_type), None)


class FacilityCareType(Base):
    """A care type a facility offers, with the weekly hours it offers."""

    __tablename__ = "facility_care_type"
    __table_args__ = (
        UniqueConstraint("facility_id", "care_type"),
        CheckConstraint("min_hours > 0 AND min_hours <= max_hours AND max_hours <= 60", "hours"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facility.id"))
    care_type: Mapped[CareType] = mapped_column(CARE_TYPE_ENUM)
    min_hours: Mapped[int] = mapped_column(Integer, default=20)
    max_hours: Mapped[int] = mapped_column(Integer, default=45)

    facility: Mapped[Facility] = relationship(back_populates="care_types")


class TiebreakMethod(StrEnum):
    LOTTERY = "lottery"  # drawn once at the deadline, seeded and recorded
    SUBMISSION = "submission"  # submission order


class Round(Base):
    """An allocation period ("Kita-Jahr 2027/28") with its applications and capacities."""

    __tablename__ = "round"
    __table_args__ = (
        CheckConstraint("care_start_from <= care_start_to", "start_range"),
        CheckConstraint("offer_response_days > 0", "response_days"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    care_start_from: Mapped[date] = mapped_column(Date)
    care_start_to: Mapped[date] = mapped_column(Date)
    application_deadline: Mapped[date] = mapped_column(Date)
    offer_response_days: Mapped[int] = mapped_column(Integer, default=14)
    tiebreak_method: Mapped[TiebreakMethod] = mapped_column(
        enum_type(TiebreakMethod, 16), default=TiebreakMethod.LOTTERY
    )
    lottery_seed: Mapped[int | None] = mapped_column(BigInteger)
    lottery_drawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reconfirmation_date: Mapped[date | None] = mapped_column(Date)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    capacities: Mapped[list[Capacity]] = relationship(
        back_populates="round", cascade="all, delete-orphan"
    )

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class Capacity(Base):
    """Places a facility can fill in a round for one care type."""

    __tablename__ = "capacity"
    __table_args__ = (
        UniqueConstraint("round_id", "facility_id", "care_type"),
        CheckConstraint("places >= 0", "places_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"), index=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facility.id"), index=True)
    care_type: Mapped[CareType] = mapped_column(CARE_TYPE_ENUM)
    places: Mapped[int] = mapped_column(Integer, default=0)
    # free places reported by the facility for the next round
    reported_free: Mapped[int | None] = mapped_column(Integer)

    round: Mapped[Round] = relationship(back_populates="capacities")
    facility: Mapped[Facility] = relationship(back_populates="capacities")
