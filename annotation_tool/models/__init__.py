"""SQLAlchemy models: the tables of the review tool."""

from annotation_tool.models.audit_log import AuditLog
from annotation_tool.models.base import Base, utcnow
from annotation_tool.models.description import DescriptionVersion, VersionKind
from annotation_tool.models.item import Item, Stage
from annotation_tool.models.project import Project, ProjectKind
from annotation_tool.models.review import Decision, Review
from annotation_tool.models.score import Score, ScoreRound
from annotation_tool.models.skip import Skip, SkipReason
from annotation_tool.models.study import CaptionRating, StudyCaption
from annotation_tool.models.user import Role, User, UserSession

__all__ = [
    "AuditLog",
    "Base",
    "CaptionRating",
    "Decision",
    "DescriptionVersion",
    "Item",
    "Project",
    "ProjectKind",
    "Review",
    "Role",
    "Score",
    "ScoreRound",
    "Skip",
    "SkipReason",
    "Stage",
    "StudyCaption",
    "User",
    "UserSession",
    "VersionKind",
    "utcnow",
]
