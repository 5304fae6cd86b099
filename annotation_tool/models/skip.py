"""An item someone set aside, with their reason: it goes to someone else."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from annotation_tool.models.base import Base, CRUDMixin, utcnow


class SkipReason(StrEnum):
    UNREADABLE = "unreadable"  # the image does not load or is damaged: a report
    NOT_A_5 = "not_a_5"  # the describer doubts the selection score
    UNSURE = "unsure"  # the person cannot judge it; someone else should


class Skip(CRUDMixin, Base):
    __tablename__ = "skips"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # The stage the item was in: the skipper never gets it again in that stage.
    stage: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
