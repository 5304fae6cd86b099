"""The mosaic filter: its user-facing config, ``detect_mosaic`` and ``MosaicFilter``.

``detector`` picks what decides: ``learned`` (the block net, ``learned.py``),
``hand_built`` (the pixelation and blur-island detectors, ``pixelation.py`` and
``blur.py``) or ``combined`` (either firing fires). Which is the default, and why, is
measured in ``filters/README.md``. ``mosaic_score`` is the deciding detector's score,
1.0 at its calibrated boundary; ``mosaic_boxes`` the regions that fired, best first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
from PIL import Image
from pydantic import Field

from filters.base import BaseImageFilter, FilterConfig
from filters.mosaic.blur import _crossing_line, _jpeg_flat_share, blur_factor, blur_score
from filters.mosaic.calibration import DEFAULT_CALIBRATION, MosaicCalibration
from filters.mosaic.learned import learned_regions, load_model
from filters.mosaic.pixelation import pixelation_score
from filters.registry import FilterKind, register_filter

REASON_DETECTED = "mosaic_detected"
KIND_PIXELATION = "pixelation"
KIND_BLUR = "blur"
KIND_LEARNED = "learned"
DETECTORS = ("learned", "hand_built", "combined")
Box = tuple[int, int, int, int]


class MosaicFilterConfig(FilterConfig):
    """What a user turns: whether to reject, how strict, which detector."""

    threshold: float = Field(default=1.0, gt=0.0)  # on mosaic_score (1.0: calibrated)
    detector: Literal["learned", "hand_built", "combined"] = "learned"
    pixelation: bool = True  # the hand-built pixelation detector
    blur: bool = True  # the hand-built blur-island detector
    weights: str | None = None  # the learned detector's weights (None: the packaged ones)


@dataclass(frozen=True)
class MosaicResult:
    score: float
    pixelation_score: float
    blur_score: float
    kind: str | None  # which detector gave the score, None when none scored
    period: int | None = None  # grid period of the best pixelated group
    box: Box | None = None  # (y0, x0, y1, x1) full-res px of the best region
    learned_score: float = 0.0
    boxes: tuple[Box, ...] = ()  # every region at or above the threshold, best first


def _hand_built(luma_img: Image.Image, cfg: MosaicFilterConfig, cal: MosaicCalibration
                ) -> tuple[float, int | None, Box | None, float, Box | None]:
    luma = np.asarray(luma_img)
    pix, period, pix_box = 0.0, None, None
    blur, blur_box = 0.0, None
    if cfg.pixelation:
        pix, period, pix_box = pixelation_score(luma, cal)
    if cfg.blur:
        factor = blur_factor(luma_img.size, cal)
        small = np.asarray(luma_img.reduce(factor))
        blur, blur_box = blur_score(small, cal, factor)
        if (blur_box and _jpeg_flat_share(luma, blur_box) > cal.max_flat_cells
                and _crossing_line(small, blur_box, factor) > cal.max_flat_line):
            blur, blur_box = 0.0, None
    return pix, period, pix_box, blur, blur_box


def detect_mosaic(image: Image.Image, cfg: MosaicFilterConfig | None = None,
                  calibration: MosaicCalibration = DEFAULT_CALIBRATION) -> MosaicResult:
    """The configured detector(s) on one image (any PIL mode; luma is what they read)."""
    cfg = cfg or MosaicFilterConfig()
    pix = blur = learned = 0.0
    period = pix_box = blur_box = None
    learned_found: list[tuple[float, Box]] = []
    if cfg.detector in ("hand_built", "combined"):
        pix, period, pix_box, blur, blur_box = _hand_built(image.convert("L"), cfg, calibration)
    if cfg.detector in ("learned", "combined"):
        learned_found = learned_regions(image, load_model(cfg.weights))
        learned = learned_found[0][0] if learned_found else 0.0
    found = [(pix, KIND_PIXELATION, pix_box), (blur, KIND_BLUR, blur_box)]
    found += [(s, KIND_LEARNED, b) for s, b in learned_found]
    found = [f for f in found if f[0] > 0.0 and f[2] is not None]
    if not found:
        return MosaicResult(0.0, pix, blur, None, learned_score=learned)
    found.sort(key=lambda f: -f[0])
    score, kind, box = found[0]
    boxes = tuple(b for s, _, b in found if s >= cfg.threshold)
    return MosaicResult(score, pix, blur, kind, period if kind == KIND_PIXELATION else None,
                        box, learned, boxes)


class MosaicFilter(BaseImageFilter):
    name: ClassVar[str] = "mosaic"
    score_columns: ClassVar[tuple[str, ...]] = ("mosaic_score",)

    def __init__(self, config: MosaicFilterConfig | None = None) -> None:
        self.config = config or MosaicFilterConfig()
        super().__init__(self.config.mode, self.config.sources)
        if self.config.detector != "hand_built":
            load_model(self.config.weights)  # fail fast on missing weights, load once

    def score(self, row: dict[str, Any], image: Image.Image | None) -> dict[str, Any]:
        if image is None:
            return {}
        result = detect_mosaic(image, self.config)
        if result.kind is not None:
            self.stats[f"scored_{result.kind}"] += 1
        detected = result.score >= self.config.threshold
        return {"mosaic_score": result.score, "mosaic_detected": detected,
                "mosaic_boxes": [list(b) for b in result.boxes] if detected else None}

    def reject_reason(self, row: dict[str, Any], scores: dict[str, Any]) -> str | None:
        return REASON_DETECTED if scores.get("mosaic_detected") else None


register_filter(FilterKind(
    MosaicFilterConfig, MosaicFilter, order=40,
    card_settings=("detector", "threshold", "pixelation", "blur"),
))
