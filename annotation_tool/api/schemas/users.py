from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from annotation_tool.api.schemas.common import Text

RoleName = Literal["annotator", "reviewer", "admin"]


class UserCreate(BaseModel):
    username: Text = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: Text = Field(min_length=8, max_length=256)
    role: RoleName


class UserUpdate(BaseModel):
    role: RoleName | None = None
    is_active: bool | None = None
    password: Text | None = Field(default=None, min_length=8, max_length=256)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    role: str
    is_active: bool
    created_at: datetime
