"""Per-text statistics over whole files, streamed, written as Parquet partials.

One output row per input row: a few identity columns carried through (so tables can
group by source and captioner without the input) plus the statistic columns. With one
worker the files are streamed in-process batch by batch (no Ray start-up for a small
job); with more, Ray Data reads each file in a streaming task and runs ``CaptionStats``
as an actor pool, its executor's backpressure bounding memory. Either way nothing
holds a whole file.
Outputs are written to a temporary folder and renamed into place, so a crash never
leaves a half set of partials that tables would silently read.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from stats.definitions import ALT_TEXT_SIDE, CAPTION_SIDE, SIDE_PREFIX, stat_schema
from stats.heap import RETAINED_HEAP_ENV
from stats.inputs import InputFile, StatsInputError, iter_batches, open_input
from stats.text_stats import CaptionStats

# Manifest columns carried into the partials, with their manifest types. Inputs that are
# not manifests get their file's name as source and "kept" as status.
PASSTHROUGH_FIELDS = (
    pa.field("id", pa.string()),
    pa.field("source", pa.string()),
    pa.field("status", pa.string()),
    pa.field("caption_model", pa.string()),
    pa.field("short_edge", pa.int32()),
)
DEFAULT_STATUS = "kept"
DEFAULT_BATCH_SIZE = 256
# Ray CPU requests: each spaCy actor asks for slightly less than a core, and reading and
# writing tasks for a tenth, so that with as many workers as cores the I/O tasks feeding
# the actors can still be scheduled (whole-CPU requests deadlock a 2-core machine).
WORKER_CPUS = 0.9
IO_TASK_CPUS = 0.1
READ_BATCH_ROWS = 1024
BLOCK_BYTES = 256 << 10  # ~300 long captions: blocks small enough to spread over actors
# Ray writes one file per block unless told to gather; partials of ~50k rows keep the
# file count of a million-row run in the tens, not thousands.
ROWS_PER_OUTPUT_FILE = 50_000
_SIDE_OF_PREFIX = {prefix: side for side, prefix in SIDE_PREFIX.items()}


@dataclass(frozen=True)
class ComputeSummary:
    files: int
    rows: int
    seconds: float
    outputs: tuple[Path, ...]


def text_columns_for(caption_column: str | None, alt_column: str | None) -> dict[str, str]:
    """Input text column -> prefix of its statistics (caption side "", alt side "alt_")."""
    columns: dict[str, str] = {}
    if caption_column:
        columns[caption_column] = SIDE_PREFIX[CAPTION_SIDE]
    if alt_column:
        if alt_column == caption_column:
            raise StatsInputError(f"caption and alt-text column are both {alt_column!r}")
        columns[alt_column] = SIDE_PREFIX[ALT_TEXT_SIDE]
    if not columns:
        raise StatsInputError("no text column given")
    clash = [c for c in columns if c in {f.name for f in PASSTHROUGH_FIELDS}]
    if clash:
        raise StatsInputError(f"{clash} cannot be a text column (it is carried through as is)")
    return columns


def output_schema(text_columns: Mapping[str, str], keep_text: bool) -> pa.Schema:
    """Passthrough, then (with ``keep_text``) the texts named by side, then statistics."""
    fields = list(PASSTHROUGH_FIELDS)
    if keep_text:
        fields.extend(pa.field(_SIDE_OF_PREFIX[p], pa.string()) for p in text_columns.values())
    for prefix in text_columns.values():
        fields.extend(stat_schema(prefix))
    return pa.schema(fields)


def compute_text_stats(
    inputs: Sequence[InputFile],
    out_dir: Path,
    caption_column: str | None = CAPTION_SIDE,
    alt_column: str | None = ALT_TEXT_SIDE,
    keep_text: bool = False,
    workers: int = 1,
    batch_size: int = DEFAULT_BATCH_SIZE,
    model: str | None = None,
) -> ComputeSummary:
    """Writes ``out_dir/*.parquet`` (replacing what was there) and returns a summary.

    The caption column's statistics get the manifest's caption names (``n_words``...),
    the alt column's the alt-text names (``alt_n_words``...). ``keep_text`` also copies
    the texts, as ``caption`` and ``alt_text``, for tables that need words (frequency).
    """
    if workers < 1:
        raise StatsInputError(f"workers must be >= 1, got {workers}")
    if batch_size < 1:
        raise StatsInputError(f"batch_size must be >= 1, got {batch_size}")
    text_columns = text_columns_for(caption_column, alt_column)
    stage_kwargs: dict[str, Any] = {"text_columns": text_columns}
    if model:
        stage_kwargs["model"] = model
    schema = output_schema(text_columns, keep_text)
    renames = {_SIDE_OF_PREFIX[p]: c for c, p in text_columns.items()} if keep_text else {}
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    start = time.perf_counter()
    if workers == 1:
        rows = _compute_local(inputs, stage_kwargs, schema, renames, tmp, batch_size)
    else:
        rows = _compute_ray(inputs, stage_kwargs, schema, renames, tmp, batch_size, workers)
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(tmp, out_dir)
    outputs = tuple(sorted(out_dir.glob("*.parquet")))
    return ComputeSummary(len(inputs), rows, time.perf_counter() - start, outputs)


def normalize(table: pa.Table, source: str, text_columns: Sequence[str]) -> pa.Table:
    """The passthrough columns, typed, then the text columns; defaults where absent."""
    n = table.num_rows
    sources = pa.array([source] * n, pa.string())
    arrays: list[pa.Array | pa.ChunkedArray] = []
    for field in PASSTHROUGH_FIELDS:
        if field.name in table.column_names:
            try:
                arrays.append(table.column(field.name).cast(field.type))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise StatsInputError(f"column {field.name!r} is not {field.type}: {exc}") from exc
        elif field.name == "source":
            arrays.append(sources)
        elif field.name == "status":
            arrays.append(pa.array([DEFAULT_STATUS] * n, pa.string()))
        else:
            arrays.append(pa.nulls(n, field.type))
    names = [f.name for f in PASSTHROUGH_FIELDS]
    for column in text_columns:
        if column in table.column_names:
            arrays.append(table.column(column))
            names.append(column)
    return pa.Table.from_arrays(arrays, names=names)


def _read_columns(text_columns: Mapping[str, str]) -> list[str]:
    return [f.name for f in PASSTHROUGH_FIELDS] + list(text_columns)


def _output_name(item: InputFile, taken: set[str]) -> str:
    name, k = item.name, 1
    while name in taken:  # two inputs with one stem from different folders
        k += 1
        name = f"{item.name}-{k}"
    taken.add(name)
    return name + ".parquet"


def _compute_local(
    inputs: Sequence[InputFile],
    stage_kwargs: dict[str, Any],
    schema: pa.Schema,
    renames: Mapping[str, str],
    out_dir: Path,
    batch_size: int,
) -> int:
    stage = CaptionStats(**stage_kwargs)
    text_columns = list(stage.text_columns)
    columns = _read_columns(stage.text_columns)
    taken: set[str] = set()
    rows = 0
    progress = tqdm(desc="text stats", unit="rows", total=_known_rows(inputs))
    for item in inputs:
        with pq.ParquetWriter(out_dir / _output_name(item, taken), schema) as writer:
            for table in iter_batches(item, columns, text_columns, batch_size):
                result = stage(normalize(table, item.name, text_columns))
                writer.write_table(finish(result, schema, renames))
                rows += table.num_rows
                progress.update(table.num_rows)
    progress.close()
    return rows


def _known_rows(inputs: Sequence[InputFile]) -> int | None:
    if any(item.format != "parquet" for item in inputs):
        return None
    return sum(pq.ParquetFile(item.path).metadata.num_rows for item in inputs)


def read_input(
    batch: Mapping[str, Any], columns: list[str], text_columns: list[str], batch_size: int
) -> Iterator[pa.Table]:
    """Ray read task: streams the files named in ``batch["path"]`` with our own readers
    (same parsing rules as the local path), one normalized table at a time."""
    for path in batch["path"]:
        item = open_input(Path(str(path)))
        for table in iter_batches(item, columns, text_columns, batch_size):
            yield normalize(table, item.name, text_columns)


def _compute_ray(
    inputs: Sequence[InputFile],
    stage_kwargs: dict[str, Any],
    schema: pa.Schema,
    renames: Mapping[str, str],
    out_dir: Path,
    batch_size: int,
    workers: int,
) -> int:
    import ray

    text_columns = list(stage_kwargs["text_columns"])
    columns = _read_columns(stage_kwargs["text_columns"])
    with _ray_session():
        # One read task per file, streaming its batches. ray.data.read_parquet would
        # also do, but its file-listing task asks for a whole CPU, which never frees up
        # once the actors hold every core of a small machine; our readers also cover
        # CSV and TXT with the same rules as the local path.
        paths = ray.data.from_items(
            [{"path": str(item.path)} for item in inputs], override_num_blocks=len(inputs)
        )
        dataset = paths.map_batches(
            read_input,
            fn_kwargs={
                "columns": columns, "text_columns": text_columns,
                "batch_size": READ_BATCH_ROWS,
            },
            batch_size=1,
            num_cpus=IO_TASK_CPUS,
        ).map_batches(
            PartialStats,
            fn_constructor_kwargs={
                "stage_kwargs": stage_kwargs, "schema": schema, "renames": dict(renames)
            },
            batch_format="pyarrow",
            batch_size=batch_size,
            compute=ray.data.ActorPoolStrategy(size=workers),
            num_cpus=WORKER_CPUS,
            runtime_env={"env_vars": RETAINED_HEAP_ENV},
        )
        dataset.write_parquet(
            str(out_dir),
            min_rows_per_file=ROWS_PER_OUTPUT_FILE,
            ray_remote_args={"num_cpus": IO_TASK_CPUS},
        )
    return sum(pq.ParquetFile(p).metadata.num_rows for p in out_dir.glob("*.parquet"))


class PartialStats:
    """The Ray actor: adds a read batch's statistics and cuts it to the schema (one
    stage, so no plain task needs a whole CPU between reading and writing)."""

    def __init__(
        self, stage_kwargs: dict[str, Any], schema: pa.Schema, renames: dict[str, str]
    ) -> None:
        self.stage = CaptionStats(**stage_kwargs)
        self.schema = schema
        self.renames = renames

    def __call__(self, table: pa.Table) -> pa.Table:
        return finish(self.stage(table), self.schema, self.renames)


def finish(table: pa.Table, schema: pa.Schema, renames: Mapping[str, str]) -> pa.Table:
    """The stage's output cut to the partial's schema (texts renamed to their side)."""
    columns = []
    for field in schema:
        source = renames.get(field.name, field.name)
        if source in table.column_names:
            columns.append(table.column(source).cast(field.type))
        else:  # a text column this file lacks: its statistics are null already
            columns.append(pa.nulls(table.num_rows, field.type))
    return pa.Table.from_arrays(columns, schema=schema)


@contextmanager
def _ray_session():
    """Uses the caller's Ray (a job on a cluster, a test's session) or starts one.

    Ray coalesces a task's outputs into blocks of up to 128 MiB by default, which hands
    a whole file to one actor; small blocks spread it over all of them. Datasets copy
    the current DataContext when built, so the setting is made here and undone after.
    """
    import ray

    started = not ray.is_initialized()
    if started:
        ray.init(include_dashboard=False, log_to_driver=False)
    context = ray.data.DataContext.get_current()
    block_bytes = context.target_max_block_size
    context.target_max_block_size = BLOCK_BYTES
    try:
        yield
    finally:
        context.target_max_block_size = block_bytes
        if started:
            ray.shutdown()
