"""Small JPEG thumbnails of manifest rows, read through ``open_image_ref`` so every
source (files, tar members of webdataset / img2dataset / SA-1B shards) works.

A row whose image cannot be read or decoded (an error row, a moved file) gets no
thumbnail and a one-line reason instead: a report never fails on one image.
"""

from __future__ import annotations

import hashlib
import io
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from curation.image_ref import open_image_ref

THUMB_SIZE = 256
JPEG_QUALITY = 80
# decode limit for thumbnails: a decompression bomb is refused, not decoded
MAX_PIXELS = 89_478_485
WORKERS = 4
_SAFE_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")


@dataclass(frozen=True)
class Thumbnail:
    path: str | None  # relative to the report folder
    width: int = 0
    height: int = 0
    problem: str | None = None


def thumb_name(row_id: str) -> str:
    if _SAFE_ID.fullmatch(row_id):
        return f"{row_id}.jpg"
    return f"{hashlib.sha1(row_id.encode()).hexdigest()[:24]}.jpg"


def make_thumbnail(image_ref: str | None, out: Path, size: int = THUMB_SIZE) -> Thumbnail:
    """Write ``out`` (a JPEG at most ``size`` px on its long side)."""
    if not image_ref:
        return Thumbnail(None, problem="no image_ref")
    try:
        data = open_image_ref(image_ref)
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_PIXELS:
                return Thumbnail(None, problem=f"{image.width}x{image.height} px: too many "
                                 "pixels to decode")
            image.draft("RGB", (size, size))  # JPEG: decode at a reduced scale
            picture = ImageOps.exif_transpose(image.convert("RGB"))
            picture.thumbnail((size, size))
            out.parent.mkdir(parents=True, exist_ok=True)
            picture.save(out, format="JPEG", quality=JPEG_QUALITY)
            return Thumbnail(out.name, picture.width, picture.height)
    except UnidentifiedImageError:
        return Thumbnail(None, problem="not an image Pillow can decode")
    except Exception as exc:  # noqa: BLE001 - any unreadable image is a placeholder
        return Thumbnail(None, problem=f"{type(exc).__name__}: {exc}"[:200])


def make_thumbnails(refs: dict[str, str | None], folder: Path,
                    size: int = THUMB_SIZE) -> dict[str, Thumbnail]:
    """Thumbnails of ``refs`` (row id -> image_ref) in ``folder``; paths come back
    relative to ``folder.parent``."""
    def one(item: tuple[str, str | None]) -> tuple[str, Thumbnail]:
        row_id, ref = item
        thumb = make_thumbnail(ref, folder / thumb_name(row_id), size)
        if thumb.path:
            thumb = Thumbnail(f"{folder.name}/{thumb.path}", thumb.width, thumb.height)
        return row_id, thumb

    with ThreadPoolExecutor(WORKERS) as pool:
        return dict(pool.map(one, refs.items()))
