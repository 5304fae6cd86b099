"""What every source shares beyond the engine's contract (``paraimage.source``):
file-name and location helpers. ``ShardSpec``, ``BaseSource`` and the record builders
are re-exported here, where sources have always imported them."""

from __future__ import annotations

from paraimage.source import (
    IMAGE_BYTES,
    BaseSource,
    EmptySourceError,
    ShardSpec,
    error_record,
    new_record,
)

__all__ = [
    "IMAGE_BYTES",
    "IMAGE_EXTENSIONS",
    "LOCAL_PROTOCOLS",
    "BaseSource",
    "EmptySourceError",
    "ShardSpec",
    "error_record",
    "image_extension",
    "is_remote",
    "new_record",
]

LOCAL_PROTOCOLS = frozenset({"file", "local"})

IMAGE_EXTENSIONS = frozenset(
    {"jpg", "jpeg", "png", "webp", "gif", "bmp", "tif", "tiff", "jp2"}
)


def image_extension(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def is_remote(location: str) -> bool:
    """An fsspec URL (``https://``, ``s3://``, ...) rather than a local path."""
    from fsspec.utils import get_protocol

    return get_protocol(location) not in LOCAL_PROTOCOLS
