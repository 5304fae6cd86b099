"""The original image bytes behind a manifest row, exactly as stored, never re-encoded.

References are parsed as ``curation.image_ref`` defines them (``open_image_ref`` is the
reference reader; this module reads the same bytes faster in a loop). ``file:`` paths
are read with a plain ``open``; ``tar:`` members through an index of each tar's members
kept for the most recently used tars: ``open_image_ref`` lists a whole tar per call,
which an export of an SA-1B shard (~11k members) would repeat 11k times.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from curation.image_ref import FILE_PREFIX, TAR_PREFIX, ImageRefError, ref_path

DEFAULT_OPEN_TARS = 32

# PIL format names -> the extension loaders (webdataset, datasets) decode by.
FORMAT_EXTENSIONS = {
    "JPEG": "jpg", "MPO": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif",
    "TIFF": "tiff", "BMP": "bmp", "JPEG2000": "jp2", "AVIF": "avif", "HEIF": "heic",
    "ICO": "ico", "PPM": "ppm", "TGA": "tga",
}
# Magic numbers, for rows whose `format` is unknown (rows of older runs, --where on errors).
_MAGIC = (
    (b"\xff\xd8\xff", "jpg"), (b"\x89PNG\r\n\x1a\n", "png"), (b"GIF87a", "gif"),
    (b"GIF89a", "gif"), (b"BM", "bmp"), (b"II*\x00", "tiff"), (b"MM\x00*", "tiff"),
)


def image_extension(image_format: str | None, data: bytes) -> str:
    """The file extension of the original format: from the manifest, else the bytes."""
    if image_format and image_format.upper() in FORMAT_EXTENSIONS:
        return FORMAT_EXTENSIONS[image_format.upper()]
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    for magic, extension in _MAGIC:
        if data.startswith(magic):
            return extension
    if image_format and image_format.isalnum():
        return image_format.lower()
    return "bin"


def _read_file(image_ref: str) -> bytes:
    """``open_image_ref`` for ``file:`` refs, without pathlib on the per-image path
    (Path objects cost a third of a small image's read); same errors."""
    path = image_ref[len(FILE_PREFIX) :]
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError as exc:
        raise ImageRefError(f"image_ref points at nothing: {image_ref!r} ({exc})") from exc
    except OSError as exc:  # a folder, no permission, an I/O error
        raise ImageRefError(f"cannot read {image_ref!r}: {exc}") from exc


@dataclass(frozen=True)
class ImageRead:
    """One reference read: the bytes (and their SHA-256 when asked), or why not."""

    data: bytes | None
    sha256: str | None = None
    error: str | None = None


class ImageReader:
    """Reads ``image_ref``s; keeps the member index of up to ``open_tars`` tars.

    One thread on purpose: reader threads measured slower, not faster (each write of
    the shard, which releases the GIL, then waited to get it back from them).
    """

    def __init__(self, open_tars: int = DEFAULT_OPEN_TARS, sha256: bool = False) -> None:
        self.open_tars = open_tars
        self.sha256 = sha256
        # tar path -> (open file descriptor, member name -> (data offset, size))
        self._tars: OrderedDict[Path, tuple[int, dict[str, tuple[int, int]]]] = OrderedDict()

    def read_all(self, image_refs: Iterable[str | None]) -> Iterator[ImageRead]:
        """Every reference's ``ImageRead``, in order, one at a time."""
        return map(self._fetch, image_refs)

    def _fetch(self, image_ref: str | None) -> ImageRead:
        try:
            data = self.read(image_ref)
        except ImageRefError as exc:
            return ImageRead(None, error=str(exc))
        return ImageRead(data, hashlib.sha256(data).hexdigest() if self.sha256 else None)

    def read(self, image_ref: str | None) -> bytes:
        """The bytes; raises ``ImageRefError`` when the reference points at nothing."""
        if not image_ref:
            raise ImageRefError("row has no image_ref")
        if image_ref.startswith(FILE_PREFIX):
            return _read_file(image_ref)
        if not image_ref.startswith(TAR_PREFIX):
            raise ImageRefError(f"unknown image_ref form: {image_ref!r}")
        path = ref_path(image_ref)
        member = image_ref.partition("#")[2]
        fd, members = self._tar(path)
        if member not in members:
            raise ImageRefError(f"image_ref points at nothing: {member!r} not in {path}")
        offset, size = members[member]
        data = os.pread(fd, size, offset)
        if len(data) != size:
            raise ImageRefError(f"{path} is truncated inside member {member!r}")
        return data

    def _tar(self, path: Path) -> tuple[int, dict[str, tuple[int, int]]]:
        if path in self._tars:
            self._tars.move_to_end(path)
            return self._tars[path]
        try:
            with tarfile.open(path, mode="r:") as tar:
                members = {
                    info.name: (info.offset_data, info.size) for info in tar if info.isfile()
                }
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError as exc:
            raise ImageRefError(f"image_ref points at nothing: tar {path} not found") from exc
        except (tarfile.TarError, OSError) as exc:
            raise ImageRefError(f"cannot read tar {path}: {exc}") from exc
        self._tars[path] = (fd, members)
        while len(self._tars) > self.open_tars:
            _, (old_fd, _) = self._tars.popitem(last=False)
            os.close(old_fd)
        return fd, members

    def close(self) -> None:
        while self._tars:
            _, (fd, _) = self._tars.popitem()
            os.close(fd)

    def __enter__(self) -> ImageReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
