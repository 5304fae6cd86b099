"""Every saved text of a description: drafts, autosaves and submissions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from annotation_tool.models.base import Base, CRUDMixin, utcnow


class VersionKind(StrEnum):
    DRAFT = "draft"  # the manifest's VLM caption, offered as a start
    AUTOSAVE = "autosave"
    SUBMIT = "submit"


class DescriptionVersion(CRUDMixin, Base):
    __tablename__ = "description_versions"
    __table_args__ = (UniqueConstraint("item_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    draft_model: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
