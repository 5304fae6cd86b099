"""The filters as Ray Data stages of the recaption job.

``FilterChainStage`` (CPU tasks) decodes each kept image once, at full resolution, and
runs the per-image filters in config order, stopping at the first reject.
``AestheticStage`` (an actor pool) holds CLIP and the aesthetic head. A filter that
raises on one image turns that row into an ``error`` row naming the filter.
"""

from __future__ import annotations

from typing import Any

from curation.probe import IMAGE_BYTES, load_rgb
from filters.aesthetic import AestheticFilter, AestheticFilterConfig
from filters.base import BaseImageFilter
from paraimage.batches import Batch, batch_to_rows, rows_to_batch
from paraimage.manifest import STATUS_ERROR, STATUS_KEPT, STATUS_REJECTED


def _decode(row: dict[str, Any], max_pixels: int):  # -> PIL.Image.Image
    return load_rgb(row[IMAGE_BYTES], max_pixels)


def _verdict(row: dict[str, Any], reason: str | None) -> None:
    if reason is not None:
        row.update(status=STATUS_REJECTED, reject_reason=reason)
        row[IMAGE_BYTES] = None  # rejected rows carry no bytes downstream


class FilterChainStage:
    def __init__(self, filters: list[BaseImageFilter], max_pixels: int) -> None:
        self.filters = filters
        self.max_pixels = max_pixels
        self.needs_image = any(f.needs_image for f in filters)

    def __call__(self, batch: Batch) -> Batch:
        rows = batch_to_rows(batch)
        for row in rows:
            if row["status"] != STATUS_KEPT:
                continue
            image = None
            for image_filter in self.filters:
                try:
                    if image is None and image_filter.needs_image:
                        image = _decode(row, self.max_pixels)
                    reason = image_filter.apply(row, image)
                except Exception as exc:  # noqa: BLE001 - one bad image, one error row
                    row.update(status=STATUS_ERROR,
                               error=f"filter_failed: {image_filter.name}: {exc}")
                    row[IMAGE_BYTES] = None
                    break
                _verdict(row, reason)
                if reason is not None:
                    break
        return rows_to_batch(rows, like=batch)


class AestheticStage:
    """Actor: CLIP ViT-L/14 + the LAION head, loaded once; rows with a source score
    that is not recomputed never need their image decoded."""

    def __init__(self, config: AestheticFilterConfig, max_pixels: int) -> None:
        self.filter = AestheticFilter(config)
        self.max_pixels = max_pixels
        if config.recompute:
            self.filter.load()

    def __call__(self, batch: Batch) -> Batch:
        rows = batch_to_rows(batch)
        todo = [row for row in rows if row["status"] == STATUS_KEPT]
        needs_image = self.filter.config.recompute
        images = [
            _decode(row, self.max_pixels)
            if needs_image or row.get("source_aesthetic") is None
            else None
            for row in todo
        ]
        for row, reason in zip(todo, self.filter.apply_batch(todo, images), strict=True):
            _verdict(row, reason)
        return rows_to_batch(rows, like=batch)
