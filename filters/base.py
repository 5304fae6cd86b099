"""Base class of image filters: subclasses write only the decision.

A filter looks at one decoded image (and its row), returns the manifest columns it
owns (its score) and, when the image fails, a reject reason carrying the filter's
prefix (``"resolution_short_edge"``, ``"mosaic_detected"``). The base class owns the
bookkeeping: modes, counters, leaving non-kept rows alone.

Modes, from the config: ``on`` scores and rejects; ``score_only`` scores and never
rejects (users score first and choose thresholds later); ``off`` is not built at all
(``build_filter`` returns ``None``). YAML 1.1 reads an unquoted ``on``/``off`` (and
``yes``/``no``, ``true``/``false``) as a boolean, so a mode given as a boolean means
``on`` or ``off``, in the config file and in ``--set`` alike; case does not matter.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, Literal

from PIL import Image
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _mode_as_typed(value: Any) -> Any:
    """``mode: off`` arrives from YAML as ``False``: read a boolean as the word typed."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return value.strip().lower() if isinstance(value, str) else value


FilterMode = Annotated[Literal["on", "off", "score_only"], BeforeValidator(_mode_as_typed)]

# Shared counter labels, so stats JSONs and tests never spell them ad hoc.
STAT_TOTAL = "total"
STAT_FORWARDED = "forwarded"
STAT_DROPPED = "dropped"
# Rows a filter could not score (e.g. no ``punsafe`` in the source) and let through.
STAT_UNSCORED = "unscored"


class FilterConfig(BaseModel):
    """Fields every filter config has; each filter module subclasses it."""

    model_config = ConfigDict(extra="forbid")

    mode: FilterMode = "on"
    sources: list[str] | None = Field(
        None, min_length=1,
        description="run on rows of these sources only (their `name`, or `kind`); the "
        "others pass it unscored. Default: every source",
    )


class BaseImageFilter(ABC):
    name: ClassVar[str]
    # False for filters that decide from the row alone (metadata): no decode needed.
    needs_image: ClassVar[bool] = True
    # Manifest columns holding this filter's score; the funnel report histograms them.
    score_columns: ClassVar[tuple[str, ...]] = ()

    def __init__(self, mode: FilterMode = "on", sources: Sequence[str] | None = None) -> None:
        if mode not in ("on", "score_only"):
            raise ValueError(f"{self.name}: mode must be 'on' or 'score_only', got {mode!r}")
        self.mode = mode
        # the sources whose rows this filter sees; None: all
        self.sources = frozenset(sources) if sources is not None else None
        self.stats: Counter[str] = Counter()

    def applies_to(self, row: dict[str, Any]) -> bool:
        return self.sources is None or row.get("source") in self.sources

    @abstractmethod
    def score(self, row: dict[str, Any], image: Image.Image | None) -> dict[str, Any]:
        """Manifest columns this filter owns, for one image (RGB, full resolution)."""

    @abstractmethod
    def reject_reason(self, row: dict[str, Any], scores: dict[str, Any]) -> str | None:
        """``None`` to pass, else a reason starting with ``f"{self.name}_"``."""

    def apply(self, row: dict[str, Any], image: Image.Image | None) -> str | None:
        """Score ``row`` in place; return the reject reason when the filter rejects."""
        if not self.applies_to(row):
            self.stats[STAT_UNSCORED] += 1
            return None
        scores = self.score(row, image)
        return self._decide(row, scores)

    def _decide(self, row: dict[str, Any], scores: dict[str, Any]) -> str | None:
        """Bookkeeping shared by ``apply`` and batched filters' ``apply_batch``."""
        self.stats[STAT_TOTAL] += 1
        row.update(scores)
        reason = self.reject_reason(row, scores)
        if reason is not None and not reason.startswith(f"{self.name}_"):
            raise ValueError(f"{self.name}: reject reason {reason!r} lacks the filter prefix")
        if reason is None or self.mode == "score_only":
            self.stats[STAT_FORWARDED] += 1
            return None
        self.stats[STAT_DROPPED] += 1
        self.stats[f"{STAT_DROPPED}_{reason}"] += 1
        return reason


class BatchImageFilter(BaseImageFilter):
    """A filter holding a model: scores many images per call (an actor-pool stage).

    Subclasses implement ``score_batch``; ``score`` and ``apply`` reuse it so the one-row
    and the batched paths cannot disagree.
    """

    @abstractmethod
    def score_batch(
        self, rows: Sequence[dict[str, Any]], images: Sequence[Image.Image | None]
    ) -> list[dict[str, Any]]:
        """Manifest columns this filter owns, one dict per row, in order."""

    def score(self, row: dict[str, Any], image: Image.Image | None) -> dict[str, Any]:
        return self.score_batch([row], [image])[0]

    def apply_batch(
        self, rows: Sequence[dict[str, Any]], images: Sequence[Image.Image | None]
    ) -> list[str | None]:
        """Score every row in place; the reject reason (or ``None``) of each, in order."""
        if len(rows) != len(images):
            raise ValueError(f"{self.name}: {len(rows)} rows but {len(images)} images")
        seen = [index for index, row in enumerate(rows) if self.applies_to(row)]
        self.stats[STAT_UNSCORED] += len(rows) - len(seen)
        reasons: list[str | None] = [None] * len(rows)
        if not seen:
            return reasons
        all_scores = self.score_batch([rows[i] for i in seen], [images[i] for i in seen])
        for index, scores in zip(seen, all_scores, strict=True):
            reasons[index] = self._decide(rows[index], scores)
        return reasons
