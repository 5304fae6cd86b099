"""Real photographs (shipped by scikit-image) and manifest-row helpers for filter tests."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import skimage.data
from PIL import Image

from paraimage.manifest import SCHEMA_VERSION, record_id


def photo(name: str) -> Image.Image:
    """A scikit-image sample photograph as RGB PIL."""
    array = getattr(skimage.data, name)()
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=-1)
    return Image.fromarray(array[..., :3])


def jpeg(image: Image.Image, quality: int = 90) -> Image.Image:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def manifest_row(shard_id: str, source_key: str, **columns: Any) -> dict[str, Any]:
    row = {
        "id": record_id("test", source_key),
        "source": "test",
        "source_key": source_key,
        "shard_id": shard_id,
        "run_id": "run-1",
        "schema_version": SCHEMA_VERSION,
        "status": "kept",
    }
    row.update(columns)
    return row
