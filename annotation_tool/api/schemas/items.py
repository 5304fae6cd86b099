from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from annotation_tool.api.schemas.common import MAX_INT, Id, Text
from annotation_tool.validators.scores import SCORE_MAX, SCORE_MIN

TaskName = Literal["selection", "inspection", "settle", "description", "revision", "audit", "study"]
Score = Field(ge=SCORE_MIN, le=SCORE_MAX)


class ClaimCreate(BaseModel):
    task: TaskName
    exclude: list[Id] = Field(default_factory=list, max_length=500)


class ScoreView(BaseModel):
    round: int
    score: int
    user: str | None = None
    comment: str = ""
    checklist: list[str] = []


class DescriptionView(BaseModel):
    version: int
    kind: str
    text: str


class ReviewView(BaseModel):
    round: int
    audit_cycle: int
    decision: str
    rules: list[str]
    comment: str
    reviewer: str | None = None


class CaptionView(BaseModel):
    id: int
    label: str  # "Caption A", ...: the model is never shown to assessors
    caption: str


class DiffPiece(BaseModel):
    op: Literal["equal", "insert", "delete"]
    text: str


class RevisionView(BaseModel):
    """For an audit of a resubmitted text: what was rejected, and what changed."""

    audit_cycle: int  # this submission's cycle (2 = the first revision)
    previous_version: int
    version: int
    rejections: list[ReviewView]  # of the previous cycle
    diff: list[DiffPiece]  # from the previous submission to this one


class ItemOut(BaseModel):
    id: int
    project_id: int
    image_id: str
    source: str
    source_key: str
    stage: str
    task: str | None
    width: int | None
    height: int | None
    aesthetic_score: float | None
    final_score: int | None
    lock_expires_at: datetime | None
    locked_by_me: bool
    scores: list[ScoreView]
    description: DescriptionView | None
    draft_model: str | None
    reviews: list[ReviewView]
    captions: list[CaptionView]
    image_problem: str | None = None
    blind: bool = False  # an inspection that may not see earlier scores
    revision: RevisionView | None = None


class LockOut(BaseModel):
    item_id: int
    lock_expires_at: datetime | None


class ScoreCreate(BaseModel):
    score: int = Score
    checklist: list[Annotated[Text, Field(max_length=16)]] = Field(
        default_factory=list, max_length=20
    )


class InspectionCreate(BaseModel):
    score: int = Score
    comment: Text = Field(default="", max_length=4000)


class SettlementCreate(BaseModel):
    score: int = Score
    comment: Text = Field(default="", max_length=4000)


class DescriptionSave(BaseModel):
    text: Text = Field(max_length=20_000)
    base_version: int = Field(ge=0, le=MAX_INT)


class Violation(BaseModel):
    rule: str
    message: str


class DescriptionSaved(BaseModel):
    version: int
    kind: str
    violations: list[Violation]


class ReviewCreate(BaseModel):
    decision: Literal["accept", "reject"]
    rules: list[Annotated[Text, Field(max_length=16)]] = Field(default_factory=list, max_length=10)
    comment: Text = Field(default="", max_length=4000)


class ReviewOut(BaseModel):
    id: int
    round: int
    decision: str
    rules: list[str]
    stage: str


class RatingCreate(BaseModel):
    caption_id: Id
    completeness: int = Score
    relevance: int = Score
    fantasy: int = Score


class RatingsCreate(BaseModel):
    ratings: list[RatingCreate] = Field(min_length=1, max_length=20)


SkipReasonName = Literal["unreadable", "not_a_5", "unsure"]


class SkipCreate(BaseModel):
    reason: SkipReasonName
    comment: Text = Field(default="", max_length=2000)


class SkipOut(BaseModel):
    id: int
    reason: str
    image_problem: str | None  # set when the image was confirmed unreadable
    stage: str


class StageOut(BaseModel):
    id: int
    stage: str
    final_score: int | None


class ProgressOut(BaseModel):
    task: str
    done_today: int
    skipped_today: int
    left: int
    per_hour: float | None
    since: datetime
