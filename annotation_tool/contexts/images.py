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


log = logging.getLogger(__name__)


def why_unreadable(exc: Exception) -> str:
    """What an annotator may be told about an unreadable image: the kind of problem,
    never the server path that the exception's text names."""
    text = str(exc)
    if isinstance(exc, ImageRefError):
        if "outside the allowed roots" in text:
            return "the file lies outside the image folders"
        if "points at nothing" in text:
            return "the file is missing"
        return "the image reference is malformed"
    if isinstance(exc, UnidentifiedImageError):
        return "the file is not an image"
    return "the image data is damaged or cut short"


def _unavailable(image_ref: str, exc: Exception) -> ImageUnavailableError:
    # The full reason names server paths: it goes to the log, the browser gets its kind.
    log.warning("image %r unavailable: %s", image_ref, exc)
    why = why_unreadable(exc)
    return ImageUnavailableError(f"The image of this item cannot be read: {why}.", reason=why)


def problem(image_ref: str, roots: tuple[Path, ...]) -> str | None:
    """Why the image cannot be shown (fully decoded, so a cut-short JPEG counts), or
    None when it reads: the check behind a report of an unreadable image."""
    try:
        data = open_image_ref(image_ref, roots=list(roots))
        with Image.open(io.BytesIO(data)) as img:
            img.load()
    except (ImageRefError, UnidentifiedImageError, OSError) as exc:
        log.warning("image %r reported unreadable: %s", image_ref, exc)
        return why_unreadable(exc)
    return None


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
    # Not paraimage.atomic: racing writers need a temp file each, and a cached
    # thumbnail needs no fsync (it is remade from the image if lost).
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "wb") as fh:
        fh.write(out.getvalue())
    os.replace(tmp, path)
    return out.getvalue()
