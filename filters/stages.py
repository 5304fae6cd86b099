"""The filters as Ray Data stages of the recaption job.

``FilterChainStage`` (a row stage, run in the CPU task that probed the image) runs the
per-image filters in config order on the image the probe decoded, at full resolution,
stopping at the first reject. A filter that raises on one image turns that row into an
``error`` row naming the filter. ``AestheticStage`` (an actor pool) holds CLIP and the
aesthetic head.
"""

from __future__ import annotations

from typing import Any, ClassVar

from curation.probe import IMAGE_BYTES, decoded_image, load_rgb
from filters.aesthetic import AestheticFilter, AestheticFilterConfig
from filters.base import BaseImageFilter
from paraimage.batches import Batch, batch_to_rows, rows_to_batch
from paraimage.manifest import STATUS_KEPT, STATUS_REJECTED
from paraimage.row_stage import RowStage, RowStepError, Scratch, fail_row

ERROR_FILTER_FAILED = "filter_failed"


def _verdict(row: dict[str, Any], reason: str | None) -> None:
    if reason is not None:
        row.update(status=STATUS_REJECTED, reject_reason=reason)
        row[IMAGE_BYTES] = None  # rejected rows carry no bytes downstream


class FilterChainStage(RowStage):
    error_prefix: ClassVar[str] = ERROR_FILTER_FAILED

    def __init__(self, filters: list[BaseImageFilter], max_pixels: int) -> None:
        self.filters = filters
        self.max_pixels = max_pixels
        self.needs_image = any(f.needs_image for f in filters)

    def process_row(self, row: dict[str, Any], scratch: Scratch) -> None:
        image = None
        for image_filter in self.filters:
            try:
                # the RGB conversion (EXIF rotation) is the first filter's that needs it
                if image is None and image_filter.needs_image:
                    image = decoded_image(row, scratch, self.max_pixels).rgb()
                reason = image_filter.apply(row, image)
            except Exception as exc:  # noqa: BLE001 - the row's error names the filter
                raise RowStepError(image_filter.name, exc) from exc
            if reason is not None:
                row.update(status=STATUS_REJECTED, reject_reason=reason)
                return


class AestheticStage:
    """Actor: CLIP ViT-L/14 + the LAION head, loaded once; rows with a source score
    that is not recomputed never need their image decoded.

    Not a row stage: its model scores a batch of images at once. It decodes the images
    it scores itself, a second decode of those rows (the CPU task's decoded image does
    not cross into an actor: pixels between stages would be ~10 MB per SA-1B image in
    the object store), so its scores are computed exactly as before. An image that
    fails to decode is that row's error, as in the row stages.
    """

    def __init__(self, config: AestheticFilterConfig, max_pixels: int) -> None:
        self.filter = AestheticFilter(config)
        self.max_pixels = max_pixels
        if config.recompute:
            self.filter.load()

    def __call__(self, batch: Batch) -> Batch:
        rows = batch_to_rows(batch)
        needs_image = self.filter.config.recompute
        todo, images = [], []
        for row in rows:
            if row["status"] != STATUS_KEPT:
                continue
            try:
                image = (load_rgb(row[IMAGE_BYTES], self.max_pixels)
                         if needs_image or row.get("source_aesthetic") is None else None)
            except Exception as exc:  # noqa: BLE001 - one bad image, one error row
                fail_row(row, f"{ERROR_FILTER_FAILED}: {self.filter.name}: {exc}")
                continue
            todo.append(row)
            images.append(image)
        for row, reason in zip(todo, self.filter.apply_batch(todo, images), strict=True):
            _verdict(row, reason)
        return rows_to_batch(rows, like=batch)
