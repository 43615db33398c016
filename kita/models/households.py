"""Households, their guardians and children."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kita.models.base import Base, UTCDateTime, utcnow

if TYPE_CHECKING:
    from kita.models.accounts import User
    from kita.models.applications import Application


class Household(Base):
    __tablename__ = "household"

    id: Mapped[int] = mapped_column(primary_key=True)
    # None for families entered by the office without an account (they get letters)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), unique=True)
    street: Mapped[str] = mapped_column(String(200), default="")
    postal_code: Mapped[str] = mapped_column(String(10), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    district: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(40))
    # contact address for families without an account (None: letters only)
    contact_email: Mapped[str | None] = mapped_column(String(254))
    locale: Mapped[str] = mapped_column(String(5), default="de")
    entered_by_office: Mapped[bool] = mapped_column(Boolean, default=False)
    # one lottery number per family, so that siblings share it
    lottery_number: Mapped[int | None] = mapped_column(Integer)
    # sha256 of the code printed on the letters of a family entered by the office; the
    # family takes over its record with an account by entering it (None: nothing to claim)
    claim_code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    pseudonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # raised by every change the parent's overview shows (kita.services.overview): part of
    # the key of its render cache
    overview_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    user: Mapped[User | None] = relationship(back_populates="household")
    guardians: Mapped[list[Guardian]] = relationship(
        back_populates="household", cascade="all, delete-orphan", order_by="Guardian.id"
    )
    children: Mapped[list[Child]] = relationship(
        back_populates="household", cascade="all, delete-orphan", order_by="Child.birth_date"
    )

    @property
    def letters_only(self) -> bool:
        return self.user_id is None and not self.contact_email


class Guardian(Base):
    __tablename__ = "guardian"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))

    household: Mapped[Household] = relationship(back_populates="guardians")

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class Child(Base):
    __tablename__ = "child"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100), index=True)
    birth_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    household: Mapped[Household] = relationship(back_populates="children")
    applications: Mapped[list[Application]] = relationship(back_populates="child")

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def age_on(self, day: date) -> tuple[int, int]:
        """Age in (years, months) on ``day``; computed, never stored."""
        months = (day.year - self.birth_date.year) * 12 + day.month - self.birth_date.month
        if day.day < self.birth_date.day:
            months -= 1
        return months // 12, months % 12
