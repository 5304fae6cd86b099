"""Resolution filter: short edge and aspect ratio of the decoded image.

LAION's WIDTH/HEIGHT columns describe the original, not the file img2dataset kept, and
SA-1B carries no size at all, so the decision uses the decoded pixels. The same filter
can run before download on metadata alone (``image=None``), as a cheap prefilter.
"""

from __future__ import annotations

from typing import Any, ClassVar

from PIL import Image
from pydantic import Field

from filters.base import STAT_UNSCORED, BaseImageFilter, FilterConfig
from filters.registry import FilterKind, register_filter

REASON_SHORT_EDGE = "resolution_short_edge"
REASON_ASPECT_RATIO = "resolution_aspect_ratio"


class ResolutionFilterConfig(FilterConfig):
    # ParaImage-Big kept LAION images whose short edge is at least 512 px (§3.2.1).
    min_short_edge: int = Field(default=512, ge=1)
    # long / short; 3.0 drops banners and panoramas a caption cannot describe well.
    max_aspect_ratio: float = Field(default=3.0, ge=1.0)


class ResolutionFilter(BaseImageFilter):
    name: ClassVar[str] = "resolution"
    score_columns: ClassVar[tuple[str, ...]] = ("short_edge",)

    def __init__(self, config: ResolutionFilterConfig | None = None) -> None:
        self.config = config or ResolutionFilterConfig()
        super().__init__(self.config.mode, self.config.sources)

    def score(self, row: dict[str, Any], image: Image.Image | None) -> dict[str, Any]:
        if image is not None:
            width, height = image.size
        else:
            width, height = row.get("width"), row.get("height")
            if not width or not height:
                # Metadata prefilter on a row without a size: the post-decode pass decides.
                self.stats[STAT_UNSCORED] += 1
                return {}
        return {"width": int(width), "height": int(height), "short_edge": int(min(width, height))}

    def reject_reason(self, row: dict[str, Any], scores: dict[str, Any]) -> str | None:
        if not scores:
            return None
        short = scores["short_edge"]
        if short < self.config.min_short_edge:
            return REASON_SHORT_EDGE
        if max(scores["width"], scores["height"]) / short > self.config.max_aspect_ratio:
            return REASON_ASPECT_RATIO
        return None


register_filter(FilterKind(
    ResolutionFilterConfig, ResolutionFilter, order=10,
    card_settings=("min_short_edge", "max_aspect_ratio"),
))
