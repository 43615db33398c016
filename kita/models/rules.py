"""The office's priority rule table (a point system)."""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kita.models.base import Base


class PriorityRule(Base):
    __tablename__ = "priority_rule"
    __table_args__ = (CheckConstraint("points >= 0 AND points <= 100000", "points"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    label_de: Mapped[str] = mapped_column(String(200))
    label_en: Mapped[str] = mapped_column(String(200))
    description_de: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    points: Mapped[int] = mapped_column(Integer)
    # facility-specific: counts only at the wished facility it was declared for
    facility_specific: Mapped[bool] = mapped_column(Boolean, default=False)
    proof_required: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    def label(self, locale: str) -> str:
        return self.label_en if locale == "en" else self.label_de

    def description(self, locale: str) -> str:
        return self.description_en if locale == "en" else self.description_de
