"""What every source shares beyond the engine's contract (``paraimage.source``):
file-name and location helpers. ``ShardSpec``, ``BaseSource`` and the record builders
are re-exported here, where sources have always imported them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from paraimage.source import (
    IMAGE_BYTES,
    BaseSource,
    EmptySourceError,
    ShardSpec,
    error_record,
    new_record,
)

__all__ = [
    "DECODE_STEP",
    "IMAGE_BYTES",
    "IMAGE_EXTENSIONS",
    "LOCAL_PROTOCOLS",
    "BaseSource",
    "EmptySourceError",
    "ShardSpec",
    "SourceConfig",
    "error_record",
    "image_extension",
    "is_remote",
    "new_record",
]

LOCAL_PROTOCOLS = frozenset({"file", "local"})
DECODE_STEP = "decode"  # the prefix of the probe's errors and rejects (probe.py)


class SourceConfig(BaseModel):
    """Fields every source config has; each source narrows ``kind`` to its names."""

    model_config = ConfigDict(extra="forbid")

    kind: str
    name: str | None = Field(None, description="manifest `source` value; default: kind")

    @property
    def source_name(self) -> str:
        """The manifest's ``source`` value, and the source's name in the job."""
        return self.name or self.kind

IMAGE_EXTENSIONS = frozenset(
    {"jpg", "jpeg", "png", "webp", "gif", "bmp", "tif", "tiff", "jp2"}
)


def image_extension(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def is_remote(location: str) -> bool:
    """An fsspec URL (``https://``, ``s3://``, ...) rather than a local path."""
    from fsspec.utils import get_protocol

    return get_protocol(location) not in LOCAL_PROTOCOLS
