"""Resize images for the captioner on CPU workers, ahead of the engine.

The VLM's own processor would resize a 2250 px SA-1B JPEG to ~336 px anyway; doing it
here, in a cheap CPU stage, keeps the accelerator's actor fed with small arrays instead
of decoding megapixel images itself.

Chained after the probe (``paraimage.row_stage``), it starts from the image the probe
decoded. A JPEG is the exception: it is decoded once more at reduced scale (``draft``:
libjpeg's DCT-domain downscale to 1/2, 1/4 or 1/8 size). That keeps the captioner's
pixels, hence its captions, exactly what they were, and costs less than resizing the
full-size image would (``benchmarks/cpu_stages.py``).
"""

from __future__ import annotations

import io
from typing import Any, ClassVar

import numpy as np
from PIL import Image, ImageOps

from curation.probe import DECODED, DEFAULT_MAX_PIXELS, IMAGE_BYTES, DecodedImage, open_image
from paraimage.row_stage import RowStage, Scratch

CAPTION_IMAGE = "_caption_image"  # internal column: raw HxWx3 uint8 pixels
CAPTION_IMAGE_SHAPE = "_caption_image_shape"
ERROR_PREPARE_FAILED = "prepare_failed"

# Models that tile (LLaVA-NeXT, Qwen2-VL) use aspect ratio; keep it, but cap panoramas.
MAX_ASPECT = 3.0


def resize_for_model(
    data: bytes, image_size: int, max_pixels: int, decoded: DecodedImage | None = None
) -> np.ndarray:
    """RGB array whose short edge is ``image_size`` (never upscaled); ``decoded``: the
    image of ``data`` already decoded, used unless ``data`` is a JPEG."""
    rgb = _caption_rgb(data, image_size, max_pixels, decoded)
    width, height = rgb.size
    scale = image_size / min(width, height)
    if scale < 1.0:
        new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
        rgb = rgb.resize((new_w, new_h), Image.Resampling.BICUBIC, reducing_gap=3.0)
    width, height = rgb.size
    long_cap = int(min(width, height) * MAX_ASPECT)
    if max(width, height) > long_cap:  # centre-crop extreme panoramas
        left = (width - min(width, long_cap)) // 2
        top = (height - min(height, long_cap)) // 2
        rgb = rgb.crop((left, top, left + min(width, long_cap), top + min(height, long_cap)))
    return np.asarray(rgb, dtype=np.uint8)


def _caption_rgb(
    data: bytes, image_size: int, max_pixels: int, decoded: DecodedImage | None
) -> Image.Image:
    header = decoded if decoded is not None else Image.open(io.BytesIO(data))
    if header.format == "JPEG" and header.mode in ("RGB", "L"):
        image = Image.open(io.BytesIO(data)) if decoded is not None else header
        image.draft("RGB", (image_size, image_size))
        # the draft-mode decode happens here; upright by its EXIF orientation, as the
        # probe and the filters see it (a phone photo is often stored on its side)
        return ImageOps.exif_transpose(image).convert("RGB")
    if decoded is None:
        decoded = DecodedImage(open_image(data, max_pixels))
    return decoded.rgb()


class CaptionImagePrep(RowStage):
    """Ray Data batch stage: ``_image_bytes`` -> ``_caption_image`` for kept rows; the
    original bytes stop here."""

    error_prefix: ClassVar[str] = ERROR_PREPARE_FAILED
    reads_image_bytes_last: ClassVar[bool] = True

    def __init__(self, image_size: int, max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
        if image_size <= 0:
            raise ValueError(f"image_size must be positive, got {image_size}")
        self.image_size = image_size
        self.max_pixels = max_pixels

    def start_row(self, row: dict[str, Any]) -> None:
        row[CAPTION_IMAGE] = row[CAPTION_IMAGE_SHAPE] = None

    def process_row(self, row: dict[str, Any], scratch: Scratch) -> None:
        pixels = resize_for_model(
            row[IMAGE_BYTES], self.image_size, self.max_pixels, scratch.get(DECODED)
        )
        row[CAPTION_IMAGE] = pixels.tobytes()
        row[CAPTION_IMAGE_SHAPE] = list(pixels.shape)


def caption_pixels(row: dict) -> np.ndarray:
    """The array ``CaptionImagePrep`` stored in ``row``."""
    return np.frombuffer(row[CAPTION_IMAGE], dtype=np.uint8).reshape(row[CAPTION_IMAGE_SHAPE])
