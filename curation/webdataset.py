"""Webdataset tar shards (img2dataset output and the like): one tar = one shard.

A sample is the run of consecutive members sharing a key (``dir/key.ext``); its image
member becomes the record, ``key.json`` / ``key.txt`` its metadata. A sample without an
image, with two images, or with a malformed JSON sidecar becomes an ``error`` row. The
row contract (the planned count, a key split apart, a tar changed since planning) is
``curation.tar_samples``, shared with ``sa1b``.
"""

from __future__ import annotations

import glob
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
    new_record,
)
from curation.image_ref import tar_ref
from curation.probe import IMAGE_BYTES
from curation.registry import SourceKind, register_source
from curation.sidecar import SidecarError, parse_sidecars
from curation.tar_samples import count_samples, read_planned_samples

ERROR_NO_IMAGE = "webdataset_no_image"
ERROR_MANY_IMAGES = "webdataset_several_images"
ERROR_SPLIT_SAMPLE = "webdataset_split_sample"
ERROR_BAD_TAR = "webdataset_unreadable_tar"


class WebDatasetSourceConfig(SourceConfig):
    kind: Literal["webdataset"]
    paths: list[str] = Field(min_length=1, description="tar files or glob patterns")
    limit: int | None = Field(None, gt=0, description="read only the first N shards")

    @field_validator("paths")
    @classmethod
    def _must_match_tars(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            if not glob.glob(str(Path(pattern).expanduser())):
                raise ValueError(f"no tar file matches {pattern!r}")
        return patterns


class WebDatasetSource(BaseSource):
    name = "webdataset"

    def __init__(self, config: WebDatasetSourceConfig) -> None:
        self.name = config.source_name
        found = sorted(
            {
                Path(match).resolve()
                for pattern in config.paths
                for match in glob.glob(str(Path(pattern).expanduser()))
            }
        )
        self.tars = found[: config.limit] if config.limit else found

    def plan(self) -> list[ShardSpec]:
        return [
            ShardSpec(
                shard_id=f"{index:05d}-{tar.name.split('.')[0]}",
                source=self.name,
                uri=str(tar),
                n_records=count_samples(tar),
            )
            for index, tar in enumerate(self.tars)
        ]

    def read(self, shard: ShardSpec, run_id: str) -> Iterator[dict[str, Any]]:
        tar_path = Path(shard.uri)

        def sample_row(
            source_key: str, files: dict[str, bytes], names: dict[str, str]
        ) -> dict[str, Any]:
            images = sorted(ext for ext in files if ext in IMAGE_EXTENSIONS)
            if not images:
                return error_record(shard, source_key, run_id,
                                    f"{ERROR_NO_IMAGE}: sample has only {sorted(files)}")
            if len(images) > 1:
                return error_record(shard, source_key, run_id,
                                    f"{ERROR_MANY_IMAGES}: {images}")
            try:
                metadata = parse_sidecars(files)
            except SidecarError as exc:
                return error_record(shard, source_key, run_id, str(exc))
            record = new_record(shard, source_key, run_id)
            record.update(metadata, image_ref=tar_ref(tar_path, names[images[0]]))
            record[IMAGE_BYTES] = files[images[0]]
            return record

        yield from read_planned_samples(
            shard, run_id, sample_row,
            split_error=ERROR_SPLIT_SAMPLE, unreadable_error=ERROR_BAD_TAR,
        )


register_source(SourceKind(
    WebDatasetSourceConfig, WebDatasetSource,
    terms={"webdataset": ("local webdataset shards", "The user's own shards: the terms of "
                             "whoever holds the rights to their images and texts apply.")},
))
