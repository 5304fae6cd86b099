"""Resize images for the captioner on CPU workers, ahead of the engine.

The VLM's own processor would resize a 2250 px SA-1B JPEG to ~336 px anyway; doing it
here, in a cheap CPU stage that decodes JPEGs at reduced scale (``draft``), keeps the
accelerator's actor fed with small arrays instead of decoding megapixel images itself.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from curation.probe import DEFAULT_MAX_PIXELS, IMAGE_BYTES, load_rgb
from paraimage.batches import Batch, batch_to_rows, rows_to_batch
from paraimage.manifest import STATUS_ERROR, STATUS_KEPT

CAPTION_IMAGE = "_caption_image"  # internal column: raw HxWx3 uint8 pixels
CAPTION_IMAGE_SHAPE = "_caption_image_shape"

# Models that tile (LLaVA-NeXT, Qwen2-VL) use aspect ratio; keep it, but cap panoramas.
MAX_ASPECT = 3.0


def resize_for_model(data: bytes, image_size: int, max_pixels: int) -> np.ndarray:
    """RGB array whose short edge is ``image_size`` (never upscaled)."""
    image = Image.open(io.BytesIO(data))
    if image.format == "JPEG":
        # DCT-domain downscale: decodes at 1/2, 1/4 or 1/8 size when that is enough.
        image.draft("RGB", (image_size, image_size))
    rgb = load_rgb_from_open(image, data, max_pixels)
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


def load_rgb_from_open(image: Image.Image, data: bytes, max_pixels: int) -> Image.Image:
    if image.format == "JPEG" and image.mode in ("RGB", "L"):
        return image.convert("RGB")  # the draft-mode decode already happened lazily
    return load_rgb(data, max_pixels)


class CaptionImagePrep:
    """Ray Data batch stage: ``_image_bytes`` -> ``_caption_image`` for kept rows."""

    def __init__(self, image_size: int, max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
        if image_size <= 0:
            raise ValueError(f"image_size must be positive, got {image_size}")
        self.image_size = image_size
        self.max_pixels = max_pixels

    def __call__(self, batch: Batch) -> Batch:
        rows = batch_to_rows(batch)
        for row in rows:
            data = row.pop(IMAGE_BYTES, None)
            row[CAPTION_IMAGE] = row[CAPTION_IMAGE_SHAPE] = None
            if row["status"] != STATUS_KEPT:
                continue
            try:
                pixels = resize_for_model(data, self.image_size, self.max_pixels)
                row[CAPTION_IMAGE] = pixels.tobytes()
                row[CAPTION_IMAGE_SHAPE] = list(pixels.shape)
            except (OSError, ValueError, Image.DecompressionBombError) as exc:
                row.update(status=STATUS_ERROR, error=f"prepare_failed: {exc}")
        return rows_to_batch(rows, like=batch)


def caption_pixels(row: dict) -> np.ndarray:
    """The array ``CaptionImagePrep`` stored in ``row``."""
    return np.frombuffer(row[CAPTION_IMAGE], dtype=np.uint8).reshape(row[CAPTION_IMAGE_SHAPE])
