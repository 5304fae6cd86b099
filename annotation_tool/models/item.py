"""One candidate image in a project, with its stage and its claim lock."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from annotation_tool.models.base import Base, CRUDMixin, utcnow


class Stage(StrEnum):
    SELECTION = "selection"  # waiting for an annotator's 1-5 score
    INSPECTION_1 = "inspection_1"  # first reviewer confirms or corrects the score
    INSPECTION_2 = "inspection_2"  # second, different reviewer
    SETTLE = "settle"  # annotator and inspectors disagree: an admin decides
    NOT_SELECTED = "not_selected"  # final score below 5: finished, not described
    DESCRIPTION = "description"  # final score 5: waiting for a long description
    AUDIT_1 = "audit_1"  # two reviewers accept or reject
    AUDIT_2 = "audit_2"  # two more decisions in the second round
    REVISION = "revision"  # rejected: back with the original annotator
    DONE = "done"  # accepted in both audit rounds: part of ParaImage-Small
    STUDY = "study"  # caption-quality study item


class Item(CRUDMixin, Base):
    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("project_id", "image_id"),
        Index("ix_items_project_stage", "project_id", "stage"),
        # "Which item do I hold?" runs on every claim; without this it scans the stage.
        Index("ix_items_lock_user", "lock_user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    image_id: Mapped[str] = mapped_column(String(64))  # the manifest's stable row id
    image_ref: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(64), default="")
    source_key: Mapped[str] = mapped_column(Text, default="")
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    aesthetic_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    draft_caption: Mapped[str | None] = mapped_column(Text, nullable=True)
    draft_model: Mapped[str | None] = mapped_column(String(128), nullable=True)

    stage: Mapped[str] = mapped_column(String(16), default=Stage.SELECTION)
    final_score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    annotator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    describer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    # Current description version; saves name the version they edited, and a stale
    # one is refused with a conflict instead of overwriting someone's text.
    description_version: Mapped[int] = mapped_column(Integer, default=0)
    # Bumped by each audit cycle (submission), so reviews of an old text never count.
    audit_cycle: Mapped[int] = mapped_column(Integer, default=0)

    # Set when a report of an unreadable image is confirmed by the server: the item
    # leaves every queue and can be neither scored nor described.
    image_problem: Mapped[str | None] = mapped_column(Text, nullable=True)

    lock_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    lock_expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
