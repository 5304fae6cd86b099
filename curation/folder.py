"""A local folder of images, cut into shards of ``shard_size`` files in path order."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from curation.base import (
    IMAGE_EXTENSIONS,
    BaseSource,
    ShardSpec,
    SourceConfig,
    error_record,
    image_extension,
    new_record,
)
from curation.image_ref import file_ref
from curation.probe import IMAGE_BYTES
from curation.registry import SourceKind, register_source
from curation.sidecar import SIDECAR_EXTENSIONS, SidecarError, parse_sidecars


class FolderSourceConfig(SourceConfig):
    kind: Literal["folder"]
    path: Path
    shard_size: int = Field(1000, gt=0)
    limit: int | None = Field(None, gt=0, description="read only the first N images")

    @field_validator("path")
    @classmethod
    def _must_be_a_folder(cls, path: Path) -> Path:
        path = path.expanduser()
        if not path.is_dir():
            raise ValueError(f"folder does not exist: {path}")
        return path.resolve()


class FolderSource(BaseSource):
    name = "folder"

    def __init__(self, config: FolderSourceConfig) -> None:
        self.name = config.source_name
        self.root = config.path
        self.shard_size = config.shard_size
        self.limit = config.limit

    def _image_files(self) -> list[str]:
        files = sorted(
            p.relative_to(self.root).as_posix()
            for p in self.root.rglob("*")
            if p.is_file() and image_extension(p.name) in IMAGE_EXTENSIONS
        )
        return files[: self.limit] if self.limit else files

    def nothing_to_read(self) -> str:
        return (f"no image files under {self.root} "
                f"(looked for {', '.join(sorted(IMAGE_EXTENSIONS))})")

    def plan(self) -> list[ShardSpec]:
        files = self._image_files()
        return [
            ShardSpec(
                shard_id=f"{index:05d}",
                source=self.name,
                uri=str(self.root),
                n_records=len(chunk),
                members=tuple(chunk),
            )
            for index, chunk in enumerate(
                files[i : i + self.shard_size] for i in range(0, len(files), self.shard_size)
            )
        ]

    def read(self, shard: ShardSpec, run_id: str) -> Iterator[dict[str, Any]]:
        root = Path(shard.uri)
        for relative in shard.members:
            path = root / relative
            try:
                data = path.read_bytes()
                sidecars = {
                    ext: path.with_suffix(f".{ext}").read_bytes()
                    for ext in SIDECAR_EXTENSIONS
                    if path.with_suffix(f".{ext}").is_file()
                }
                metadata = parse_sidecars(sidecars)
            except (OSError, SidecarError) as exc:
                message = str(exc) if isinstance(exc, SidecarError) else f"read_failed: {exc}"
                yield error_record(shard, relative, run_id, message)
                continue
            record = new_record(shard, relative, run_id)
            record.update(metadata, image_ref=file_ref(path))
            record[IMAGE_BYTES] = data
            yield record


register_source(SourceKind(
    FolderSourceConfig, FolderSource,
    terms={"folder": ("local folder", "The user's own images: the terms of whoever holds their "
                         "rights apply.")},
))
