from __future__ import annotations

from pydantic import BaseModel, Field


class LoginCreate(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class Me(BaseModel):
    id: int
    username: str
    role: str
    csrf_token: str
