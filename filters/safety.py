"""Watermark and NSFW filters: thresholds on LAION's ``pwatermark`` and ``punsafe``.

LAION computed both probabilities with its own classifiers; we only threshold them.
Sources without them (SA-1B, local folders) pass: the row keeps a null score, the
filter counts it under ``unscored`` and the funnel report shows how many were unscored.
"""

from __future__ import annotations

from typing import Any, ClassVar

from PIL import Image
from pydantic import Field

from filters.base import STAT_UNSCORED, BaseImageFilter, FilterConfig
from filters.registry import FilterKind, register_filter

REASON_WATERMARK = "watermark_high_pwatermark"
REASON_NSFW = "nsfw_high_punsafe"


class WatermarkFilterConfig(FilterConfig):
    # Rows with pwatermark above this are rejected (the probability LAION's watermark
    # classifier gave; Stable Diffusion's training set used 0.5).
    max_pwatermark: float = Field(default=0.5, ge=0.0, le=1.0)


class NsfwFilterConfig(FilterConfig):
    max_punsafe: float = Field(default=0.5, ge=0.0, le=1.0)


def _missing(value: Any) -> bool:
    # Parquet nulls arrive as None, pandas-style gaps as NaN; both mean "not scored".
    return value is None or value != value


class _ProbabilityThresholdFilter(BaseImageFilter):
    needs_image: ClassVar[bool] = False
    column: ClassVar[str]
    reason: ClassVar[str]

    def __init__(self, config: FilterConfig, max_value: float) -> None:
        super().__init__(config.mode, config.sources)
        self.max_value = max_value

    def score(self, row: dict[str, Any], image: Image.Image | None) -> dict[str, Any]:
        # The score is source metadata already in the row: nothing to add.
        if _missing(row.get(self.column)):
            self.stats[STAT_UNSCORED] += 1
        return {}

    def reject_reason(self, row: dict[str, Any], scores: dict[str, Any]) -> str | None:
        value = row.get(self.column)
        if _missing(value):
            return None
        return self.reason if float(value) > self.max_value else None


class WatermarkFilter(_ProbabilityThresholdFilter):
    name: ClassVar[str] = "watermark"
    column: ClassVar[str] = "pwatermark"
    reason: ClassVar[str] = REASON_WATERMARK
    score_columns: ClassVar[tuple[str, ...]] = ("pwatermark",)

    def __init__(self, config: WatermarkFilterConfig | None = None) -> None:
        self.config = config or WatermarkFilterConfig()
        super().__init__(self.config, self.config.max_pwatermark)


class NsfwFilter(_ProbabilityThresholdFilter):
    name: ClassVar[str] = "nsfw"
    column: ClassVar[str] = "punsafe"
    reason: ClassVar[str] = REASON_NSFW
    score_columns: ClassVar[tuple[str, ...]] = ("punsafe",)

    def __init__(self, config: NsfwFilterConfig | None = None) -> None:
        self.config = config or NsfwFilterConfig()
        super().__init__(self.config, self.config.max_punsafe)


register_filter(FilterKind(WatermarkFilterConfig, WatermarkFilter, order=20,
                           card_settings=("max_pwatermark",)))
register_filter(FilterKind(NsfwFilterConfig, NsfwFilter, order=30, card_settings=("max_punsafe",)))
