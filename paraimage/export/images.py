"""The original image bytes behind a manifest row, exactly as stored, never re-encoded.

``file:`` references go through ``curation.image_ref.open_image_ref``. ``tar:`` members
are read through an index of each tar's members kept for the most recently used tars:
``open_image_ref`` lists a whole tar per call, which an export of an SA-1B shard
(~11k members) would repeat 11k times.
"""

from __future__ import annotations

import os
import tarfile
from collections import OrderedDict
from pathlib import Path

from curation.image_ref import FILE_PREFIX, TAR_PREFIX, ImageRefError, open_image_ref, ref_path

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


class ImageReader:
    """Reads ``image_ref``s; keeps the member index of up to ``open_tars`` tars."""

    def __init__(self, open_tars: int = DEFAULT_OPEN_TARS) -> None:
        self.open_tars = open_tars
        # tar path -> (open file descriptor, member name -> (data offset, size))
        self._tars: OrderedDict[Path, tuple[int, dict[str, tuple[int, int]]]] = OrderedDict()

    def read(self, image_ref: str | None) -> bytes:
        """The bytes; raises ``ImageRefError`` when the reference points at nothing."""
        if not image_ref:
            raise ImageRefError("row has no image_ref")
        if image_ref.startswith(FILE_PREFIX):
            try:
                return open_image_ref(image_ref)
            except (IsADirectoryError, PermissionError) as exc:
                raise ImageRefError(f"cannot read {image_ref!r}: {exc}") from exc
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
