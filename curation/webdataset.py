"""Webdataset tar shards (img2dataset output and the like): one tar = one shard.

A sample is the run of consecutive members sharing a key (``dir/key.ext``); its image
member becomes the record, ``key.json`` / ``key.txt`` its metadata. Tars are streamed
member by member, never unpacked to disk. A sample without an image, with two images,
or with a malformed JSON sidecar becomes an ``error`` row.
"""

from __future__ import annotations

import glob
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from curation.base import IMAGE_EXTENSIONS, BaseSource, ShardSpec, error_record, new_record
from curation.image_ref import tar_ref
from curation.probe import IMAGE_BYTES
from curation.sidecar import SidecarError, parse_sidecars

ERROR_NO_IMAGE = "webdataset_no_image"
ERROR_MANY_IMAGES = "webdataset_several_images"
ERROR_BAD_TAR = "webdataset_unreadable_tar"


class WebDatasetSourceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["webdataset"]
    name: str | None = Field(None, description="manifest `source` value; default: kind")
    paths: list[str] = Field(min_length=1, description="tar files or glob patterns")
    limit: int | None = Field(None, gt=0, description="read only the first N shards")

    @field_validator("paths")
    @classmethod
    def _must_match_tars(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            if not glob.glob(str(Path(pattern).expanduser())):
                raise ValueError(f"no tar file matches {pattern!r}")
        return patterns


def split_member_name(name: str) -> tuple[str, str]:
    """``a/b/000123.jpg`` -> (``a/b/000123``, ``jpg``); webdataset keys end at the first dot
    of the base name, so ``x.seg.png`` belongs to sample ``x``."""
    directory, _, base = name.rpartition("/")
    stem, _, extension = base.partition(".")
    key = f"{directory}/{stem}" if directory else stem
    return key, extension.lower()


def iter_samples(path: Path) -> Iterator[tuple[str, dict[str, bytes], dict[str, str]]]:
    """(key, {extension: bytes}, {extension: member name}) for each run of consecutive
    members with one key."""
    key: str | None = None
    files: dict[str, bytes] = {}
    names: dict[str, str] = {}
    with tarfile.open(path, mode="r|*") as tar:
        for member in tar:
            if not member.isfile():
                continue
            member_key, extension = split_member_name(member.name)
            if key is not None and member_key != key:
                yield key, files, names
                files, names = {}, {}
            key = member_key
            extracted = tar.extractfile(member)
            files[extension] = extracted.read() if extracted else b""
            names[extension] = member.name
    if key is not None:
        yield key, files, names


def count_samples(path: Path) -> int:
    with tarfile.open(path, mode="r:*") as tar:
        keys = [split_member_name(m.name)[0] for m in tar.getmembers() if m.isfile()]
    # consecutive runs, the same grouping ``iter_samples`` uses
    return sum(1 for i, key in enumerate(keys) if i == 0 or keys[i - 1] != key)


class WebDatasetSource(BaseSource):
    name = "webdataset"

    def __init__(self, config: WebDatasetSourceConfig) -> None:
        self.name = config.name or config.kind
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
        prefix = tar_path.name
        emitted = 0
        try:
            for key, files, names in iter_samples(tar_path):
                source_key = f"{prefix}/{key}"
                emitted += 1
                images = sorted(ext for ext in files if ext in IMAGE_EXTENSIONS)
                if not images:
                    yield error_record(
                        shard, source_key, run_id,
                        f"{ERROR_NO_IMAGE}: sample has only {sorted(files)}",
                    )
                    continue
                if len(images) > 1:
                    yield error_record(
                        shard, source_key, run_id,
                        f"{ERROR_MANY_IMAGES}: {images}",
                    )
                    continue
                try:
                    metadata = parse_sidecars(files)
                except SidecarError as exc:
                    yield error_record(shard, source_key, run_id, str(exc))
                    continue
                record = new_record(shard, source_key, run_id)
                record.update(metadata, image_ref=tar_ref(tar_path, names[images[0]]))
                record[IMAGE_BYTES] = files[images[0]]
                yield record
        except (tarfile.TarError, OSError) as exc:
            # The tar broke part-way: the samples not reached still get their row so
            # the shard's count (from the plan) reconciles.
            for missing in range(emitted, shard.n_records):
                yield error_record(
                    shard, f"{prefix}/#unread-{missing}", run_id, f"{ERROR_BAD_TAR}: {exc}"
                )
