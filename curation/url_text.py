"""URL+text sources: LAION-Aesthetics and any dataset of image URLs with captions.

``kind: laion`` reads LAION metadata Parquet (both known schemas); ``kind: url_text``
reads any such dataset through a preset (``coyo``, ``datacomp``, ``cc12m``, ``laion``)
or an explicit column mapping, from Parquet, CSV, TSV or JSONL, local or fsspec URLs.

Planning normalises each metadata file into ``DOWNLOAD_DIR/metadata/`` (one row group
per shard). Reading a shard: metadata prefilters first (rejected rows carry
``prefilter_<name>``, nothing is downloaded for them), then img2dataset downloads the
rest into ``DOWNLOAD_DIR/NNNNN.tar`` (kept across reruns: a resumed run downloads
nothing twice), then every input row becomes exactly one record: the image for
successes, a reason for failures (``download_http_404``, ``download_timeout``,
``download_robots_optout``, ...).
"""

from __future__ import annotations

import glob
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
from pydantic import Field, field_validator, model_validator

from curation.base import BaseSource, ShardSpec, SourceConfig, error_record, is_remote, new_record
from curation.image_ref import tar_ref
from curation.probe import IMAGE_BYTES
from curation.registry import SourceKind, register_source
from curation.url_download import (
    OOM_SHARD_COUNT,
    DownloadOptions,
    download_shard,
    read_downloaded,
    shard_paths,
)
from curation.url_metadata import (
    PRESETS,
    ColumnMapping,
    MetadataFormat,
    MetadataPrefilter,
    Preset,
    iter_metadata,
    normalise,
    read_shard_rows,
    row_group_sizes,
    write_normalised_batches,
)
from paraimage.manifest import STATUS_ERROR, STATUS_KEPT, STATUS_REJECTED

ERROR_NO_STATUS = "download_no_status"
class UrlTextSourceConfig(SourceConfig):
    kind: Literal["laion", "url_text"]
    metadata: list[str] = Field(
        min_length=1, description="metadata files: paths, glob patterns or fsspec URLs"
    )
    preset: Literal["laion", "coyo", "datacomp", "cc12m"] | None = Field(
        None, description="column names and format of a known dataset (laion for kind laion)"
    )
    format: MetadataFormat | None = Field(None, description="overrides the preset's")
    columns: ColumnMapping | None = Field(None, description="overrides the preset's")
    header: bool | None = Field(None, description="CSV/TSV with a header line")
    column_names: list[str] | None = Field(None, description="for header-less CSV/TSV")
    rows_per_shard: int = Field(10_000, gt=0, description="URLs per shard (= per tar)")
    limit: int | None = Field(None, gt=0, description="read only the first N rows per file")
    prefilter: MetadataPrefilter = MetadataPrefilter()
    download: DownloadOptions = DownloadOptions()
    download_dir: Path | None = Field(
        None, description="img2dataset output; default RUN_DIR/downloads/<name>"
    )

    @field_validator("metadata")
    @classmethod
    def _local_paths_exist(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            if not is_remote(pattern) and not glob.glob(str(Path(pattern).expanduser())):
                raise ValueError(f"no metadata file matches {pattern!r}")
        return patterns

    @model_validator(mode="after")
    def _has_a_layout(self) -> UrlTextSourceConfig:
        if self.kind == "laion" and self.preset is None:
            self.preset = "laion"
        if self.preset is None and (self.format is None or self.columns is None):
            raise ValueError("url_text needs a `preset` or both `format` and `columns`")
        return self

    def layout(self) -> Preset:
        base = PRESETS[self.preset] if self.preset else None
        header = self.header if self.header is not None else (base.header if base else True)
        names = self.column_names or (list(base.column_names) if base else [])
        return Preset(
            format=self.format or base.format,  # type: ignore[union-attr]
            columns=self.columns or base.columns,  # type: ignore[union-attr]
            header=header,
            column_names=tuple(names),
        )


def metadata_files(patterns: list[str]) -> list[str]:
    found: list[str] = []
    for pattern in patterns:
        if is_remote(pattern):
            found.append(pattern)
        else:
            found.extend(sorted(str(Path(p).resolve())
                                for p in glob.glob(str(Path(pattern).expanduser()))))
    return list(dict.fromkeys(found))


def _stem(path: str) -> str:
    base = path.rstrip("/").rsplit("/", 1)[-1]
    return re.sub(r"[^A-Za-z0-9._-]", "_", base.split(".")[0]) or "metadata"


class UrlTextSource(BaseSource):
    name = "url_text"

    def __init__(self, config: UrlTextSourceConfig) -> None:
        if config.download_dir is None:
            raise ValueError("download_dir is unset (JobConfig sets it from the run dir)")
        self.config = config
        self.name = config.source_name
        self.folder = Path(config.download_dir).resolve()
        self.layout = config.layout()

    # -- planning --------------------------------------------------------------------

    def _normalised(self, index: int, path: str) -> Path:
        destination = self.folder / "metadata" / f"{index:03d}-{_stem(path)}.parquet"
        if not destination.exists():  # normalised once: a rerun does not read it again
            write_normalised_batches(self._normalised_batches(path), destination,
                                     self.config.rows_per_shard)
        return destination

    def _normalised_batches(self, path: str) -> Iterator[pa.Table]:
        first_row = 0
        limit = self.config.limit
        for batch in iter_metadata(path, self.layout):
            if limit is not None and first_row + batch.num_rows > limit:
                batch = batch.slice(0, max(0, limit - first_row))
            if batch.num_rows:
                yield normalise(batch, self.layout.columns, path, first_row)
            first_row += batch.num_rows
            if limit is not None and first_row >= limit:
                return

    def plan(self) -> list[ShardSpec]:
        shards: list[ShardSpec] = []
        for index, path in enumerate(metadata_files(self.config.metadata)):
            normalised = self._normalised(index, path)
            for row_group, n_rows in enumerate(row_group_sizes(normalised)):
                shards.append(ShardSpec(
                    shard_id=f"{len(shards):0{OOM_SHARD_COUNT}d}-{_stem(path)}",
                    source=self.name,
                    uri=str(normalised),
                    n_records=n_rows,
                    row_group=row_group,
                ))
        if len(shards) >= 10**OOM_SHARD_COUNT:
            raise ValueError(f"{len(shards)} shards: raise rows_per_shard")
        return shards

    # -- reading -----------------------------------------------------------------------

    def read(self, shard: ShardSpec, run_id: str) -> Iterator[dict[str, Any]]:
        rows = read_shard_rows(Path(shard.uri), shard.row_group or 0)
        prefix = Path(shard.uri).stem.split("-", 1)[1]
        records: dict[int, dict[str, Any]] = {}
        to_download: list[dict[str, Any]] = []
        for row in rows:
            record = new_record(shard, f"{prefix}/{row['key'] or row['row']}", run_id)
            record.update(
                url=row["url"], alt_text=row["alt_text"],
                source_aesthetic=row["source_aesthetic"],
                punsafe=row["punsafe"], pwatermark=row["pwatermark"],
            )
            reason = self.config.prefilter.reason(row)
            if reason:
                record.update(status=STATUS_REJECTED, reject_reason=reason)
                yield record
            elif not row["url"]:
                yield error_record(shard, record["source_key"], run_id, "download_no_url")
            else:
                records[row["row"]] = record
                to_download.append(row)
        if not to_download:
            return
        shard_number = int(shard.shard_id.split("-", 1)[0])
        download_shard(to_download, self.folder, shard_number, self.config.rows_per_shard,
                       self.config.download)
        tar = shard_paths(self.folder, shard_number)["tar"]
        for sample in read_downloaded(self.folder, shard_number):
            record = records.pop(sample.row, None)
            if record is None:
                continue  # a row this run did not ask for (cannot happen with a fixed plan)
            if sample.status == STATUS_KEPT:
                record.update(image_ref=tar_ref(tar, sample.member), sha256=sample.sha256)
                record[IMAGE_BYTES] = sample.image
            elif sample.status == STATUS_REJECTED:
                record.update(status=STATUS_REJECTED, reject_reason=sample.reason)
            else:
                record.update(status=STATUS_ERROR, error=sample.reason)
            yield record
        for record in records.values():
            record.update(status=STATUS_ERROR,
                          error=f"{ERROR_NO_STATUS}: img2dataset wrote no status for it")
            yield record


register_source(SourceKind(
    UrlTextSourceConfig, UrlTextSource, downloads=True, reject_steps=("prefilter", "download"),
    terms={
    "laion": ("LAION-Aesthetics", "The metadata (URLs, alt-texts, scores) is released by "
              "LAION under CC-BY 4.0. The images are not: each keeps its own copyright and "
              "licence, held by its owner. Honour opt-outs and takedown requests."),
    "coyo": ("COYO-700M", "Metadata by Kakao Brain under CC-BY 4.0; the images keep their "
             "own copyright and licence."),
    "datacomp": ("DataComp CommonPool", "Metadata under CC-BY 4.0; the images keep their "
                 "own copyright and licence."),
    "cc12m": ("Conceptual 12M", "Google's metadata may be used for any purpose (crediting "
              "Google LLC as the source is requested); the images keep their own copyright."),
},
))
