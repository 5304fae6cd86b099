"""Caption-quality study: machine captions of one image and assessors' ratings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from annotation_tool.models.base import Base, CRUDMixin, utcnow


class StudyCaption(CRUDMixin, Base):
    __tablename__ = "study_captions"
    __table_args__ = (UniqueConstraint("item_id", "model"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    model: Mapped[str] = mapped_column(String(128))  # never sent to assessors
    caption: Mapped[str] = mapped_column(Text)


class CaptionRating(CRUDMixin, Base):
    __tablename__ = "caption_ratings"
    __table_args__ = (UniqueConstraint("caption_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    caption_id: Mapped[int] = mapped_column(ForeignKey("study_captions.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    completeness: Mapped[int] = mapped_column(Integer)
    relevance: Mapped[int] = mapped_column(Integer)
    # 5 = nothing invented, 1 = much of the caption is hallucinated.
    fantasy: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
