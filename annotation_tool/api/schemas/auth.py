from __future__ import annotations

from pydantic import BaseModel, Field

from annotation_tool.api.schemas.common import Text


class LoginCreate(BaseModel):
    username: Text = Field(min_length=1, max_length=64)
    password: Text = Field(min_length=1, max_length=256)


class Me(BaseModel):
    id: int
    username: str
    role: str
    csrf_token: str
