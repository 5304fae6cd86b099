from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ProjectCreate(BaseModel):
    name: str = Field(min_length=1, max_length=128)
    kind: Literal["paraimage_small", "caption_study"] = "paraimage_small"
    description: str = Field(default="", max_length=4000)
    use_drafts: bool = True
    assessors_per_item: int = Field(default=3, ge=1, le=20)


class ProjectOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: str
    description: str
    use_drafts: bool
    assessors_per_item: int
    created_at: datetime


class ProjectWithCounts(ProjectOut):
    stages: dict[str, int]


class ImportCreate(BaseModel):
    """Structured filters only: the UI never sends SQL (the CLI's --where does)."""

    run_dir: str = Field(min_length=1, max_length=4096)
    min_aesthetic: float | None = None
    min_short_edge: int | None = Field(default=None, ge=0)
    sources: list[str] = Field(default_factory=list, max_length=50)
    limit: int | None = Field(default=None, ge=1, le=1_000_000)
    draft_model: str | None = None


class ImportOut(BaseModel):
    matched: int
    imported: int
    already_present: int


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
