"""A project: one pool of images worked through one workflow."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from annotation_tool.models.base import Base, CRUDMixin, utcnow


class ProjectKind(StrEnum):
    # ParaImage-Small: selection scoring -> inspection -> description -> audit.
    SMALL = "paraimage_small"
    # The paper's Table 11: blind 1-5 ratings of several captioners' captions.
    CAPTION_STUDY = "caption_study"


class Project(CRUDMixin, Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(32), default=ProjectKind.SMALL)
    description: Mapped[str] = mapped_column(Text, default="")
    # Offer the manifest's VLM caption as an editable first draft of descriptions.
    use_drafts: Mapped[bool] = mapped_column(Boolean, default=True)
    assessors_per_item: Mapped[int] = mapped_column(Integer, default=3)
    # Inspectors score without seeing earlier scores or who gave them.
    blind_inspection: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
