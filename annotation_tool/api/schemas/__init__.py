"""Request and response schemas: one pydantic model per intent (XCreate, XUpdate, X)."""

from annotation_tool.api.schemas.auth import LoginCreate, Me
from annotation_tool.api.schemas.items import (
    ClaimCreate,
    DescriptionSave,
    DescriptionSaved,
    InspectionCreate,
    ItemOut,
    RatingsCreate,
    ReviewCreate,
    ScoreCreate,
    SettlementCreate,
)
from annotation_tool.api.schemas.projects import ImportCreate, ProjectCreate, ProjectOut
from annotation_tool.api.schemas.users import UserCreate, UserOut, UserUpdate

__all__ = [
    "ClaimCreate",
    "DescriptionSave",
    "DescriptionSaved",
    "ImportCreate",
    "InspectionCreate",
    "ItemOut",
    "LoginCreate",
    "Me",
    "ProjectCreate",
    "ProjectOut",
    "RatingsCreate",
    "ReviewCreate",
    "ScoreCreate",
    "SettlementCreate",
    "UserCreate",
    "UserOut",
    "UserUpdate",
]
