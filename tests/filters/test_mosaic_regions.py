"""Region output: the boxes of ``mosaic_boxes`` on a synthetic image with known regions,
and their way into a manifest row."""

from __future__ import annotations

import numpy as np
from filter_helpers import jpeg, manifest_row, photo
from PIL import Image

from filters.mosaic import MosaicFilter, MosaicFilterConfig, detect_mosaic
from filters.mosaic_eval.regions import Region, draw_region, operate
from paraimage.manifest import to_table

IOU_FLOOR = 0.5  # the boxes are on the 16-px block grid, a little larger than the region


def iou(a: tuple, b: tuple) -> float:
    iy = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    ix = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iy * ix
    area = lambda r: (r[2] - r[0]) * (r[3] - r[1])  # noqa: E731
    return inter / (area(a) + area(b) - inter)


def two_regions() -> tuple[Image.Image, list[Region]]:
    """A photo at twice its size with a blurred ellipse and a pixelated rectangle."""
    rng = np.random.default_rng(0)
    big = photo("astronaut").resize((1024, 1024), Image.LANCZOS)
    pixels = np.clip(np.asarray(big, np.float32) + rng.normal(0, 2, (1024, 1024, 3)), 0, 255)
    pixels = pixels.astype(np.uint8)
    blurred = Region((300, 380, 540, 620), draw_region(rng, 1024, 1024, 0.04, "ellipse").alpha)
    blurred = Region(blurred.box, np.asarray(Image.fromarray(
        (blurred.alpha * 255).astype(np.uint8)).resize((240, 240)), np.float32) / 255)
    pixelated = Region((580, 180, 800, 420), np.ones((220, 240), np.float32))
    pixels = operate(pixels, blurred, "gaussian", 20.0)
    pixels = operate(pixels, pixelated, "pixelate", 24, centre=False)
    return jpeg(Image.fromarray(pixels), 85), [blurred, pixelated]


def test_both_regions_come_back_as_boxes_over_the_iou_floor() -> None:
    image, regions = two_regions()
    result = detect_mosaic(image, MosaicFilterConfig(detector="learned"))
    assert result.score >= 1.0 and len(result.boxes) >= 2
    for region in regions:
        assert max(iou(region.box, box) for box in result.boxes) >= IOU_FLOOR, region.box


def test_the_filter_writes_the_boxes_into_a_manifest_row() -> None:
    image, _ = two_regions()
    row = manifest_row("s0", "two.jpg")
    assert MosaicFilter().apply(row, image) == "mosaic_detected"
    boxes = row["mosaic_boxes"]
    assert boxes and all(len(b) == 4 and b[0] < b[2] and b[1] < b[3] for b in boxes)
    table = to_table([row])
    assert table.column("mosaic_boxes").to_pylist() == [boxes]


def test_no_boxes_when_nothing_fires() -> None:
    row = manifest_row("s0", "clean.jpg")
    assert MosaicFilter().apply(row, jpeg(photo("coffee"))) is None
    assert row["mosaic_boxes"] is None and row["mosaic_detected"] is False
