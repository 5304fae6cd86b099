"""Validators: checks that raise domain errors before a context changes anything."""

from annotation_tool.validators.description import (
    DescriptionValidator,
    RuleViolation,
    check_description,
)
from annotation_tool.validators.scores import ReviewValidator, ScoreValidator

__all__ = [
    "DescriptionValidator",
    "ReviewValidator",
    "RuleViolation",
    "ScoreValidator",
    "check_description",
]
