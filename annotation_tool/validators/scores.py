"""Range checks on 1-5 scores and the ids in checklists and rejection comments."""

from __future__ import annotations

from collections.abc import Iterable

from annotation_tool.errors import ValidationFailedError
from annotation_tool.guidelines import DESCRIPTION_RULE_IDS, SELECTION_RULE_IDS

SCORE_MIN, SCORE_MAX = 1, 5


class ScoreValidator:
    @classmethod
    def validate_score(cls, score: int, field: str = "score") -> None:
        if not SCORE_MIN <= score <= SCORE_MAX:
            raise ValidationFailedError(f"{field} must be {SCORE_MIN}-{SCORE_MAX}, got {score}")

    @classmethod
    def validate_checklist(cls, checklist: Iterable[str]) -> None:
        unknown = sorted(set(checklist) - SELECTION_RULE_IDS)
        if unknown:
            raise ValidationFailedError(f"unknown selection rules: {unknown}")


class ReviewValidator:
    @classmethod
    def validate_rejection(cls, rules: list[str], comment: str) -> None:
        """A rejection must name the broken rule(s) and say what to fix."""
        if not rules:
            raise ValidationFailedError("A rejection must name at least one broken rule.")
        unknown = sorted(set(rules) - DESCRIPTION_RULE_IDS)
        if unknown:
            raise ValidationFailedError(f"unknown description rules: {unknown}")
        if not comment.strip():
            raise ValidationFailedError("A rejection needs a comment for the annotator.")
