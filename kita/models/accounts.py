"""Accounts: users with a role, failed-login counters."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kita.models.base import Base, StrEnum, UTCDateTime, enum_type, utcnow

if TYPE_CHECKING:
    from kita.models.facilities import Facility
    from kita.models.households import Household


class Role(StrEnum):
    PARENT = "parent"
    OFFICE = "office"
    FACILITY = "facility"
    ADMIN = "admin"


STAFF_ROLES = (Role.OFFICE, Role.FACILITY, Role.ADMIN)


class User(UserMixin, Base):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    # stored normalised (stripped, lower-case), so the unique constraint is case-insensitive
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(enum_type(Role, 16))
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facility.id"), index=True)
    display_name: Mapped[str | None] = mapped_column(String(120))
    locale: Mapped[str] = mapped_column(String(5), default="de")
    is_active_account: Mapped[bool] = mapped_column(Boolean, default=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # bumped on logout, password change and reset: older session cookies stop working
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False)

    facility: Mapped[Facility | None] = relationship(back_populates="staff")
    household: Mapped[Household | None] = relationship(back_populates="user", uselist=False)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:  # flask-login
        return self.is_active_account

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


class FailedLogin(Base):
    """One failed login for an e-mail address, counted to slow down guessing."""

    __tablename__ = "failed_login"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
