"""Image references: how a manifest row points back at its image bytes.

Images are never copied into manifests (DESIGN.md); a row's ``image_ref`` names where
the original bytes live, and ``open_image_ref`` is the one function every consumer
(filters re-reading, the review tool, exports) uses to get them back.

Forms:
* ``file:/abs/path/img.jpg`` - a plain file;
* ``tar:/abs/path/shard.tar#member/name.jpg`` - a member of a tar (webdataset shards,
  img2dataset output, SA-1B), read by seeking, never unpacking.
"""

from __future__ import annotations

import tarfile
from collections.abc import Sequence
from pathlib import Path

FILE_PREFIX = "file:"
TAR_PREFIX = "tar:"


class ImageRefError(ValueError):
    """An image reference is malformed, outside the allowed roots, or points at nothing."""


def file_ref(path: str | Path) -> str:
    return f"{FILE_PREFIX}{Path(path).resolve()}"


def tar_ref(tar_path: str | Path, member: str) -> str:
    return f"{TAR_PREFIX}{Path(tar_path).resolve()}#{member}"


def ref_path(image_ref: str) -> Path:
    """The file on disk that holds the image (the tar itself for tar members)."""
    if image_ref.startswith(FILE_PREFIX):
        return Path(image_ref[len(FILE_PREFIX) :])
    if image_ref.startswith(TAR_PREFIX):
        path, sep, member = image_ref[len(TAR_PREFIX) :].partition("#")
        if not sep or not member:
            raise ImageRefError(f"tar image_ref without '#member': {image_ref!r}")
        return Path(path)
    raise ImageRefError(f"unknown image_ref form: {image_ref!r}")


def _check_roots(path: Path, roots: Sequence[str | Path] | None) -> None:
    if roots is None:
        return
    resolved = path.resolve()
    for root in roots:
        if resolved.is_relative_to(Path(root).resolve()):
            return
    raise ImageRefError(f"image path {resolved} is outside the allowed roots")


def open_image_ref(image_ref: str, roots: Sequence[str | Path] | None = None) -> bytes:
    """Return the original bytes behind ``image_ref``.

    ``roots``, when given, confines reads to those folders (symlinks and ``..`` are
    resolved first), which is what a web server handing out images must do.
    """
    path = ref_path(image_ref)
    _check_roots(path, roots)
    try:
        if image_ref.startswith(FILE_PREFIX):
            return path.read_bytes()
        member = image_ref.partition("#")[2]
        with tarfile.open(path, mode="r:") as tar:
            extracted = tar.extractfile(member)
            if extracted is None:
                raise ImageRefError(f"{member!r} in {path} is not a regular file")
            return extracted.read()
    except (FileNotFoundError, KeyError) as exc:
        raise ImageRefError(f"image_ref points at nothing: {image_ref!r} ({exc})") from exc
