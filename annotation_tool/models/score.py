"""Selection scores: the annotator's (round 0), the inspectors' (1, 2), an admin's (3)."""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from annotation_tool.models.base import Base, CRUDMixin, utcnow


class ScoreRound(IntEnum):
    ANNOTATOR = 0
    INSPECTION_1 = 1
    INSPECTION_2 = 2
    SETTLEMENT = 3


class Score(CRUDMixin, Base):
    """Rows are never updated: a changed score is a new row, the latest one counts."""

    __tablename__ = "scores"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    round: Mapped[int] = mapped_column(Integer)
    score: Mapped[int] = mapped_column(Integer)
    checklist: Mapped[list[str]] = mapped_column(JSON, default=list)
    comment: Mapped[str] = mapped_column(Text, default="")
    # Inspections only: whether the inspector scored without seeing earlier scores, so
    # agreement can be reported blind and unblinded (None: before that was recorded).
    blind: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
