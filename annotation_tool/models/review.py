"""Audit decisions on a submitted description."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from annotation_tool.models.base import Base, CRUDMixin, utcnow


class Decision(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"


class Review(CRUDMixin, Base):
    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    audit_cycle: Mapped[int] = mapped_column(Integer)
    description_version: Mapped[int] = mapped_column(Integer)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[str] = mapped_column(String(8))
    rules: Mapped[list[str]] = mapped_column(JSON, default=list)  # broken rule ids
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
