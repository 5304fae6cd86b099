from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from annotation_tool.api.schemas.common import MAX_INT, Finite, Text


class ProjectCreate(BaseModel):
    name: Text = Field(min_length=1, max_length=128)
    kind: Literal["paraimage_small", "caption_study"] = "paraimage_small"
    description: Text = Field(default="", max_length=4000)
    use_drafts: bool = True
    assessors_per_item: int = Field(default=3, ge=1, le=20)
    blind_inspection: bool = True


class ProjectOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: str
    description: str
    use_drafts: bool
    assessors_per_item: int
    blind_inspection: bool
    created_at: datetime


class ProjectWithCounts(ProjectOut):
    stages: dict[str, int]


class ImportCreate(BaseModel):
    """Structured filters only: the UI never sends SQL (the CLI's --where does)."""

    run_dir: Text = Field(min_length=1, max_length=4096)
    min_aesthetic: Finite | None = None
    min_short_edge: int | None = Field(default=None, ge=0, le=MAX_INT)
    sources: list[Annotated[Text, Field(max_length=64)]] = Field(
        default_factory=list, max_length=50
    )
    limit: int | None = Field(default=None, ge=1, le=1_000_000)
    draft_model: Text | None = Field(default=None, max_length=128)


class ImportOut(BaseModel):
    matched: int
    imported: int
    already_present: int


class ImportStepOut(BaseModel):
    label: str
    images: int


class ImportPreviewOut(BaseModel):
    steps: list[ImportStepOut]
    matched: int
    new: int
    largest_short_edge: int | None
    best_aesthetic: float | None
    sources: list[str]
    explanation: str


class ModelMeansOut(BaseModel):
    model: str
    n_captions: int
    n_ratings: int
    completeness: float
    relevance: float
    fantasy: float
    overall: float


class MyItem(BaseModel):
    id: int
    image_id: str
    stage: str
    my_score: int | None
    final_score: int | None
    description_version: int
    updated_at: datetime
