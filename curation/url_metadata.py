"""URL+text metadata (LAION, COYO, DataComp, CC12M, ...): column mapping, normalisation,
metadata prefilters.

Every such dataset is a table of image URLs with a caption and some scores, under its
own column names and file format. A *column mapping* names, for each of our fields,
the columns that may hold it (first present wins, case-insensitive), so LAION's two
schemas (v1 ``aesthetic``, v2 ``AESTHETIC_SCORE``) and other datasets are one code
path. Presets hold the mappings of the well-known datasets.

Planning normalises each metadata file once into a Parquet file of our fields with
one row group per shard, so a shard reads one row group, whatever the input format.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import fsspec
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field

from paraimage.atomic import atomic_path
from paraimage.errors import UserError

MetadataFormat = Literal["parquet", "csv", "tsv", "jsonl"]

# Our fields, in normalised-file column order, with their Arrow types.
NORMALISED_SCHEMA = pa.schema([
    pa.field("row", pa.int64()),  # row number in the original metadata file
    pa.field("key", pa.string()),
    pa.field("url", pa.string()),
    pa.field("alt_text", pa.string()),
    pa.field("width", pa.float64()),
    pa.field("height", pa.float64()),
    pa.field("source_aesthetic", pa.float64()),
    pa.field("punsafe", pa.float64()),
    pa.field("pwatermark", pa.float64()),
    pa.field("sha256", pa.string()),
])
MAPPED_FIELDS = ("key", "url", "alt_text", "width", "height", "source_aesthetic",
                 "punsafe", "pwatermark", "sha256")


class ColumnMapping(BaseModel):
    """For each field, the metadata columns that may hold it (first present wins)."""

    model_config = ConfigDict(extra="forbid")

    key: list[str] = Field(default_factory=list, description="a stable sample id column")
    url: list[str] = Field(min_length=1)
    alt_text: list[str] = Field(default_factory=list)
    width: list[str] = Field(default_factory=list)
    height: list[str] = Field(default_factory=list)
    source_aesthetic: list[str] = Field(default_factory=list)
    punsafe: list[str] = Field(default_factory=list)
    pwatermark: list[str] = Field(default_factory=list)
    sha256: list[str] = Field(default_factory=list, description="to verify downloads")


class Preset(BaseModel):
    model_config = ConfigDict(frozen=True)

    format: MetadataFormat
    columns: ColumnMapping
    header: bool = True
    column_names: tuple[str, ...] = ()  # for header-less CSV/TSV


PRESETS: dict[str, Preset] = {
    # LAION-5B / LAION-Aesthetics: v1 `aesthetic`, v2 `AESTHETIC_SCORE`; float WIDTH/HEIGHT.
    "laion": Preset(format="parquet", columns=ColumnMapping(
        url=["URL", "url"], alt_text=["TEXT", "caption", "text"],
        width=["WIDTH"], height=["HEIGHT"],
        source_aesthetic=["AESTHETIC_SCORE", "aesthetic"],
        punsafe=["punsafe"], pwatermark=["pwatermark"],
    )),
    # COYO-700M: NSFW from opennsfw2, LAION's v2 aesthetic predictor score.
    "coyo": Preset(format="parquet", columns=ColumnMapping(
        key=["id"], url=["url"], alt_text=["text"], width=["width"], height=["height"],
        source_aesthetic=["aesthetic_score_laion_v2"],
        punsafe=["nsfw_score_opennsfw2"], pwatermark=["watermark_score"],
    )),
    # DataComp: sizes are the originals', sha256 of the original bytes.
    "datacomp": Preset(format="parquet", columns=ColumnMapping(
        key=["uid"], url=["url"], alt_text=["text"],
        width=["original_width"], height=["original_height"], sha256=["sha256"],
    )),
    # Conceptual 12M: a header-less TSV of url<TAB>caption.
    "cc12m": Preset(format="tsv", header=False, column_names=("url", "caption"),
                    columns=ColumnMapping(url=["url"], alt_text=["caption"])),
}


class MetadataError(UserError, ValueError):
    """A metadata file cannot be read or lacks a required column."""


def open_binary(path: str):  # -> a binary file object
    """Local paths and fsspec URLs (``http://``, ``s3://``, ``hf://`` ...) alike."""
    return fsspec.open(path, "rb").open()


def read_metadata(path: str, preset: Preset) -> pa.Table:
    """The whole metadata file as Arrow, columns as named in the file."""
    batches = list(iter_metadata(path, preset))
    return pa.concat_tables(batches) if batches else pa.table({})


# rows per batch read from a metadata file: memory while planning is a few of these
READ_BATCH_ROWS = 65_536


def iter_metadata(path: str, preset: Preset,
                  batch_rows: int | None = None) -> Iterator[pa.Table]:
    """The metadata file in batches, columns as named in the file: Parquet by row
    groups and batches, CSV/TSV by blocks (streaming), JSON lines whole (Arrow has no
    streaming JSON reader)."""
    try:
        with open_binary(path) as handle:
            if preset.format == "parquet":
                batches = pq.ParquetFile(handle).iter_batches(
                    batch_size=batch_rows or READ_BATCH_ROWS)
                for batch in batches:
                    yield pa.Table.from_batches([batch])
                return
            if preset.format == "jsonl":
                yield pa_json.read_json(handle)
                return
            delimiter = "\t" if preset.format == "tsv" else ","
            read_options = pa_csv.ReadOptions(
                column_names=list(preset.column_names) if not preset.header else None,
                block_size=1 << 24,
            )
            # Captions may contain quotes; TSV dumps (CC12M) are not quoted CSV.
            parse_options = pa_csv.ParseOptions(
                delimiter=delimiter, quote_char=False if preset.format == "tsv" else '"',
                newlines_in_values=preset.format == "csv",
            )
            reader = pa_csv.open_csv(handle, read_options=read_options,
                                     parse_options=parse_options)
            for batch in reader:
                yield pa.Table.from_batches([batch])
    except (OSError, pa.ArrowInvalid) as exc:
        raise MetadataError(f"cannot read {preset.format} metadata {path}: {exc}") from exc


def resolve_columns(names: Sequence[str], mapping: ColumnMapping) -> dict[str, str]:
    """Our field -> the file's column, for the fields the file has."""
    by_lower = {name.lower(): name for name in names}
    found: dict[str, str] = {}
    for field_name in MAPPED_FIELDS:
        for candidate in getattr(mapping, field_name):
            if candidate.lower() in by_lower:
                found[field_name] = by_lower[candidate.lower()]
                break
    return found


def normalise(table: pa.Table, mapping: ColumnMapping, path: str,
              first_row: int = 0) -> pa.Table:
    """The metadata as ``NORMALISED_SCHEMA``: our names, our types, absent fields null;
    ``row`` counts from ``first_row`` (the batch's place in the file)."""
    found = resolve_columns(table.column_names, mapping)
    if "url" not in found:
        raise MetadataError(
            f"{path} has no URL column (looked for {mapping.url}; it has "
            f"{table.column_names})"
        )
    n = table.num_rows
    columns: dict[str, pa.Array] = {
        "row": pa.array(range(first_row, first_row + n), pa.int64())}
    for schema_field in NORMALISED_SCHEMA:
        if schema_field.name == "row":
            continue
        if schema_field.name not in found:
            columns[schema_field.name] = pa.nulls(n, schema_field.type)
            continue
        column = table.column(found[schema_field.name])
        columns[schema_field.name] = _cast(column, schema_field.type, found[schema_field.name],
                                           path)
    return pa.table(columns, schema=NORMALISED_SCHEMA)


def _cast(column: pa.ChunkedArray, target: pa.DataType, name: str, path: str) -> pa.Array:
    if pa.types.is_floating(target) and pa.types.is_string(column.type):
        # CSV dumps sometimes quote numbers or leave them empty
        column = pc.if_else(pc.equal(column, ""), None, column)
    try:
        return pc.cast(column, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise MetadataError(f"{path}: column {name!r} is not {target}: {exc}") from exc


def write_normalised(table: pa.Table, destination: Path, rows_per_shard: int) -> int:
    """Write atomically, one row group per shard; returns the number of shards."""
    return write_normalised_batches([table], destination, rows_per_shard)


def write_normalised_batches(tables: Iterable[pa.Table], destination: Path,
                             rows_per_shard: int) -> int:
    """Normalised batches to ``destination`` as they come, atomically, in row groups of
    exactly ``rows_per_shard`` rows (the last may be short): planning holds one shard's
    rows and one read batch, whatever the size of the file. Returns the shards."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    n_rows = 0
    with atomic_path(destination) as tmp:
        writer = pq.ParquetWriter(tmp, NORMALISED_SCHEMA, compression="zstd")
        pending: list[pa.Table] = []
        pending_rows = 0
        try:
            for table in tables:
                pending.append(table)
                pending_rows += table.num_rows
                n_rows += table.num_rows
                if pending_rows < rows_per_shard:
                    continue
                merged = pa.concat_tables(pending)
                whole = (merged.num_rows // rows_per_shard) * rows_per_shard
                writer.write_table(merged.slice(0, whole), row_group_size=rows_per_shard)
                pending = [merged.slice(whole)]
                pending_rows = merged.num_rows - whole
            if pending_rows or n_rows == 0:
                rest = (pa.concat_tables(pending) if pending
                        else NORMALISED_SCHEMA.empty_table())
                writer.write_table(rest, row_group_size=rows_per_shard)
        finally:
            writer.close()
    return max(1, math.ceil(n_rows / rows_per_shard)) if n_rows else 0


def row_group_sizes(path: Path) -> list[int]:
    metadata = pq.ParquetFile(path).metadata
    return [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]


def read_shard_rows(path: Path, row_group: int) -> list[dict[str, Any]]:
    return pq.ParquetFile(path).read_row_group(row_group).to_pylist()


# --- prefilters on metadata, before any download --------------------------------------

PREFILTER_ORDER = ("aesthetic", "short_edge", "punsafe", "pwatermark")


class MetadataPrefilter(BaseModel):
    """Thresholds on the metadata; a row without the value passes (counted as unscored)."""

    model_config = ConfigDict(extra="forbid")

    min_aesthetic: float | None = Field(None, description="e.g. 5.0 for LAION-Aesthetics")
    min_short_edge: float | None = Field(None, ge=0, description="min(WIDTH, HEIGHT)")
    max_punsafe: float | None = Field(None, ge=0, le=1)
    max_pwatermark: float | None = Field(None, ge=0, le=1)

    def reason(self, row: Mapping[str, Any]) -> str | None:
        """``prefilter_<name>`` for the first threshold the row fails, else None."""
        for name in PREFILTER_ORDER:
            if self._fails(name, row):
                return f"prefilter_{name}"
        return None

    def _fails(self, name: str, row: Mapping[str, Any]) -> bool:
        if name == "aesthetic":
            value, bound = row.get("source_aesthetic"), self.min_aesthetic
            return bound is not None and value is not None and value < bound
        if name == "short_edge":
            width, height = row.get("width"), row.get("height")
            return (self.min_short_edge is not None and width is not None
                    and height is not None and min(width, height) < self.min_short_edge)
        value, bound = row.get(name), getattr(self, f"max_{name}")
        return bound is not None and value is not None and value > bound

    @property
    def active(self) -> bool:
        return any(getattr(self, f"{'min' if n in ('aesthetic', 'short_edge') else 'max'}_{n}")
                   is not None for n in PREFILTER_ORDER)
