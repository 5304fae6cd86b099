"""Image bytes for the browser: the original through open_image_ref, and thumbnails
made once and cached on disk (never in the database)."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import tempfile
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from annotation_tool.errors import ImageUnavailableError
from curation.image_ref import ImageRefError, open_image_ref

THUMBNAIL_EDGE = 384
_MEDIA_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}


UNAVAILABLE = "The image of this item cannot be read; the server log says why."
log = logging.getLogger(__name__)


def _unavailable(image_ref: str, exc: Exception) -> ImageUnavailableError:
    # The reason names server paths: it goes to the log, not to the browser.
    log.warning("image %r unavailable: %s", image_ref, exc)
    return ImageUnavailableError(UNAVAILABLE)


def read_original(image_ref: str, roots: tuple[Path, ...]) -> tuple[bytes, str]:
    try:
        data = open_image_ref(image_ref, roots=list(roots))
        with Image.open(io.BytesIO(data)) as img:  # reads the header only
            media_type = _MEDIA_TYPES.get(img.format or "", "application/octet-stream")
    except (ImageRefError, UnidentifiedImageError, OSError) as exc:
        raise _unavailable(image_ref, exc) from exc
    return data, media_type


def thumbnail_path(cache_dir: Path, image_ref: str) -> Path:
    key = hashlib.sha256(image_ref.encode()).hexdigest()
    return cache_dir / key[:2] / f"{key}.jpg"


def read_thumbnail(image_ref: str, roots: tuple[Path, ...], cache_dir: Path) -> bytes:
    path = thumbnail_path(cache_dir, image_ref)
    if path.exists():
        return path.read_bytes()
    data, _ = read_original(image_ref, roots)
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.draft("RGB", (THUMBNAIL_EDGE, THUMBNAIL_EDGE))  # JPEG: decode at lower scale
            thumb = img.convert("RGB")
            thumb.thumbnail((THUMBNAIL_EDGE, THUMBNAIL_EDGE))
            out = io.BytesIO()
            thumb.save(out, "JPEG", quality=85)
    except (UnidentifiedImageError, OSError) as exc:
        raise _unavailable(image_ref, exc) from exc
    path.parent.mkdir(parents=True, exist_ok=True)
    # Two requests may race to make the same thumbnail; rename makes either one win whole.
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "wb") as fh:
        fh.write(out.getvalue())
    os.replace(tmp, path)
    return out.getvalue()
