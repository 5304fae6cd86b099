"""The filter stages' error policy: a filter that raises, or an image the aesthetic
actor cannot decode, is that row's error naming the filter; the other rows go on."""

from __future__ import annotations

import io
from typing import Any, ClassVar

from PIL import Image

from curation.probe import DEFAULT_MAX_PIXELS
from filters.aesthetic import AestheticFilterConfig
from filters.base import BaseImageFilter
from filters.stages import AestheticStage, FilterChainStage
from paraimage.batches import batch_to_rows, rows_to_batch
from paraimage.source import IMAGE_BYTES


class EdgeFilter(BaseImageFilter):
    """Scores the image's width; fails on images narrower than 8 px."""

    name: ClassVar[str] = "edge"

    def score(self, row: dict[str, Any], image: Image.Image | None) -> dict[str, Any]:
        assert image is not None
        if image.width < 8:
            raise ValueError(f"too narrow: {image.width} px")
        return {"mosaic_score": float(image.width)}

    def reject_reason(self, row: dict[str, Any], scores: dict[str, Any]) -> str | None:
        return None


def png(width: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, 4), (1, 2, 3)).save(buffer, format="PNG")
    return buffer.getvalue()


def truncated_png() -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise((64, 64), 50).convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue()[: len(buffer.getvalue()) // 2]


def test_a_filter_that_raises_makes_an_error_row_naming_it() -> None:
    rows = [{"id": "a", "status": "kept", IMAGE_BYTES: png(16)},
            {"id": "b", "status": "kept", IMAGE_BYTES: png(4)}]
    out = batch_to_rows(FilterChainStage([EdgeFilter()], DEFAULT_MAX_PIXELS)(rows_to_batch(rows)))
    assert out == [
        {"id": "a", "status": "kept", IMAGE_BYTES: png(16), "mosaic_score": 16.0,
         "error": None},
        {"id": "b", "status": "error", IMAGE_BYTES: None, "mosaic_score": None,
         "error": "filter_failed: edge: too narrow: 4 px"},
    ]


def test_an_image_the_aesthetic_actor_cannot_decode_is_an_error_row() -> None:
    stage = AestheticStage(AestheticFilterConfig(threshold=5.0), max_pixels=DEFAULT_MAX_PIXELS)
    rows = [  # with a source score nothing is decoded and no model is loaded
        {"id": "a", "status": "kept", "source_aesthetic": 6.0, IMAGE_BYTES: b"unread"},
        {"id": "b", "status": "kept", "source_aesthetic": None, IMAGE_BYTES: truncated_png()},
        {"id": "c", "status": "kept", "source_aesthetic": 4.0, IMAGE_BYTES: b"unread"},
    ]
    out = batch_to_rows(stage(rows_to_batch(rows)))
    assert [(r["id"], r["status"], r["aesthetic_score"], r.get("reject_reason"), r.get("error"),
             r[IMAGE_BYTES]) for r in out] == [
        ("a", "kept", 6.0, None, None, b"unread"),
        ("b", "error", None, None, "filter_failed: aesthetic: image file is truncated", None),
        ("c", "rejected", 4.0, "aesthetic_low_score", None, None),
    ]
