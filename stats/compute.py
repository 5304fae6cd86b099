"""Per-text statistics over whole files, streamed, written as Parquet partials.

One output row per input row: a few identity columns carried through (so tables can
group by source and captioner without the input) plus the statistic columns. With one
worker the files are streamed in-process batch by batch (no Ray start-up for a small
job). With more, the process streams the files the same way and hands the batches to
that many Ray actors, each running ``CaptionStats`` and writing its own partial; a few
batches per actor are in flight, so nothing holds a whole file.

Plain actors, not a Ray Data pipeline: on this stage (20,000 captions, 2 actors) Ray
Data's read and write tasks, bookkeeping actors and executor made it 112 CPU-seconds in
all instead of 90, its read and write tasks re-imported our modules every run, and its
actors ran the stage on a thread-pool thread, whose
heap glibc's ``mallopt`` does not reach (``stats/heap.py``); an actor's own methods
run on its main thread. The recaption job's stats stage stays a Ray Data stage, where
its start-up overlaps the rest of the pipeline.
Outputs are written to a temporary folder and renamed into place, so a crash never
leaves a half set of partials that tables would silently read.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from tqdm import tqdm

from captioners.qa import is_non_english
from stats.definitions import (
    ALT_TEXT_SIDE,
    CAPTION_SIDE,
    NON_ENGLISH_FIELD,
    SIDE_PREFIX,
    stat_schema,
)
from stats.inputs import InputFile, StatsInputError, iter_batches
from stats.text_stats import CaptionStats

# Manifest columns carried into the partials, with their manifest types. Inputs that are
# not manifests carry only ``id`` (inputs.py) and get their source name and "kept".
PASSTHROUGH_FIELDS = (
    pa.field("id", pa.string()),
    pa.field("source", pa.string()),
    pa.field("status", pa.string()),
    pa.field("caption_model", pa.string()),
    pa.field("short_edge", pa.int32()),
)
DEFAULT_STATUS = "kept"
DEFAULT_BATCH_SIZE = 256
# A spaCy actor is one core: Ray sets OMP_NUM_THREADS (OpenBLAS's threads) from it.
WORKER_CPUS = 1
# Batches queued per actor: one running, one ready for when it ends.
BATCHES_PER_ACTOR = 2
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
    """Passthrough, then (with ``keep_text``) the texts named by side, then statistics
    and each side's ``non_english`` flag (captioners.qa's test; null for no text)."""
    fields = list(PASSTHROUGH_FIELDS)
    if keep_text:
        fields.extend(pa.field(_SIDE_OF_PREFIX[p], pa.string()) for p in text_columns.values())
    for prefix in text_columns.values():
        fields.extend(stat_schema(prefix))
    fields.extend(pa.field(p + NON_ENGLISH_FIELD, pa.bool_()) for p in text_columns.values())
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
    total_rows: int | None = None,
) -> ComputeSummary:
    """Writes ``out_dir/*.parquet`` (replacing what was there) and returns a summary.

    The caption column's statistics get the manifest's caption names (``n_words``...),
    the alt column's the alt-text names (``alt_n_words``...). ``keep_text`` also copies
    the texts, as ``caption`` and ``alt_text``, for tables that need words (frequency).
    ``total_rows`` (from ``inputs.scan_input``) sizes the progress bar.
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
    try:
        if workers == 1:
            rows = _compute_local(inputs, stage_kwargs, schema, renames, tmp, batch_size,
                                  total_rows)
        else:
            rows = _compute_ray(inputs, stage_kwargs, schema, renames, tmp, batch_size,
                                workers, total_rows)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # the last good partials stay as they were
        raise
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
            column = table.column(field.name)
            if pa.types.is_string(column.type) and not pa.types.is_string(field.type):
                column = pc.if_else(pc.equal(column, ""), None, column)  # CSV's empty field
            try:
                arrays.append(column.cast(field.type))
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
    base = item.name.replace("/", "--")  # a folder's member: "set/train"
    name, k = base, 1
    while name in taken:  # shards of one split, or one stem from different folders
        k += 1
        name = f"{base}-{k}"
    taken.add(name)
    return name + ".parquet"


def _compute_local(
    inputs: Sequence[InputFile],
    stage_kwargs: dict[str, Any],
    schema: pa.Schema,
    renames: Mapping[str, str],
    out_dir: Path,
    batch_size: int,
    total_rows: int | None,
) -> int:
    stage = CaptionStats(**stage_kwargs)
    text_columns = list(stage.text_columns)
    columns = _read_columns(stage.text_columns)
    taken: set[str] = set()
    rows = 0
    with progress_bar(total_rows if total_rows is not None else _known_rows(inputs)) as bar:
        for item in inputs:
            with pq.ParquetWriter(out_dir / _output_name(item, taken), schema) as writer:
                for table in iter_batches(item, columns, text_columns, batch_size):
                    result = stage(normalize(table, item.name, text_columns))
                    writer.write_table(finish(result, schema, renames, stage.text_columns))
                    rows += table.num_rows
                    bar.update(table.num_rows)
    return rows


@contextmanager
def progress_bar(total: int | None) -> Iterator[tqdm]:
    """A bar on a terminal only (a log gets the one summary line the CLI prints), closed
    on every exit, so an error message starts a line of its own."""
    bar = tqdm(desc="text stats", unit="rows", total=total, disable=not sys.stderr.isatty())
    try:
        yield bar
    finally:
        bar.close()


def _known_rows(inputs: Sequence[InputFile]) -> int | None:
    if any(item.format != "parquet" for item in inputs):
        return None
    return sum(pq.ParquetFile(item.path).metadata.num_rows for item in inputs)


def _compute_ray(
    inputs: Sequence[InputFile],
    stage_kwargs: dict[str, Any],
    schema: pa.Schema,
    renames: Mapping[str, str],
    out_dir: Path,
    batch_size: int,
    workers: int,
    total_rows: int | None,
) -> int:
    """The driver reads the files batch by batch (our readers, the local path's rules)
    and hands each batch to the least busy ready actor, at most ``BATCHES_PER_ACTOR``
    per actor in flight; every actor appends its results to a partial of its own."""
    import ray

    text_columns = list(stage_kwargs["text_columns"])
    columns = _read_columns(stage_kwargs["text_columns"])
    with _ray_session():
        actor_class = ray.remote(PartialWriter).options(num_cpus=WORKER_CPUS)
        actors = [
            actor_class.remote(stage_kwargs, schema, dict(renames),
                               str(out_dir / f"part-{index:05d}.parquet"))
            for index in range(workers)
        ]
        total = total_rows if total_rows is not None else _known_rows(inputs)
        try:
            with progress_bar(total) as bar:
                dispatch = _Dispatch(actors, bar)
                for item in inputs:
                    for table in iter_batches(item, columns, text_columns, batch_size):
                        dispatch.submit(normalize(table, item.name, text_columns))
                dispatch.drain()
            # an actor still starting (no room for it on the cluster) got no batch
            rows = sum(ray.get([actors[index].close.remote() for index in dispatch.ready]))
        finally:
            for actor in actors:  # frees their CPUs now, not when the handles are collected
                ray.kill(actor)
    if not rows:  # as the local path does for an empty file: a partial with the schema
        pq.write_table(schema.empty_table(), out_dir / "part-00000.parquet")
    return rows


class _Dispatch:
    """Hands batches to the actors that have started, least busy first.

    Actors join as they come up: on a cluster without room for all of them the job
    runs on those that fit instead of waiting on the rest. At most
    ``BATCHES_PER_ACTOR`` batches wait per actor, so the driver's memory holds a few
    batches whatever the files' size, while each actor always has its next batch.
    """

    def __init__(self, actors: Sequence[Any], progress: tqdm) -> None:
        self.actors = list(actors)
        self.progress = progress
        self.starting = {actor.start.remote(): index for index, actor in enumerate(self.actors)}
        self.ready: list[int] = []
        self.in_flight: dict[Any, int] = {}
        self.load = [0] * len(self.actors)

    def submit(self, table: pa.Table) -> None:
        while not self.ready or min(self.load[i] for i in self.ready) >= BATCHES_PER_ACTOR:
            self._wait_one()
        index = min(self.ready, key=lambda i: self.load[i])
        self.in_flight[self.actors[index].add.remote(table)] = index
        self.load[index] += 1

    def drain(self) -> None:
        while self.in_flight:
            self._wait_one()

    def _wait_one(self) -> None:
        import ray

        done, _ = ray.wait([*self.starting, *self.in_flight], num_returns=1)
        for ref in done:
            if ref in self.starting:
                ray.get(ref)  # raises the stage's own error (e.g. no such model) as is
                self.ready.append(self.starting.pop(ref))
            else:
                self.load[self.in_flight.pop(ref)] -= 1
                self.progress.update(ray.get(ref))


class PartialWriter:
    """The Ray actor: adds each batch's statistics, cuts them to the schema and appends
    them to its own Parquet partial, so results never travel back through the driver."""

    def __init__(
        self,
        stage_kwargs: dict[str, Any],
        schema: pa.Schema,
        renames: dict[str, str],
        path: str,
    ) -> None:
        self.stage_kwargs = stage_kwargs
        self.stage: CaptionStats | None = None
        self.schema = schema
        self.renames = renames
        self.path = path
        self.writer: pq.ParquetWriter | None = None
        self.rows = 0

    def start(self) -> None:
        """Loads the stage. A method, not the constructor: Ray passes a method's error on
        as its own type, a constructor's only as the text of an ``ActorDiedError``."""
        self.stage = CaptionStats(**self.stage_kwargs)

    def add(self, table: pa.Table) -> int:
        if self.stage is None:
            raise RuntimeError("PartialWriter.add before start")
        result = finish(self.stage(table), self.schema, self.renames,
                        self.stage_kwargs["text_columns"])
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, self.schema)
        self.writer.write_table(result)
        self.rows += result.num_rows
        return result.num_rows

    def close(self) -> int:
        """Closes the partial (an actor that got no batch writes none); its row count."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        return self.rows


def finish(
    table: pa.Table,
    schema: pa.Schema,
    renames: Mapping[str, str],
    text_columns: Mapping[str, str],
) -> pa.Table:
    """The stage's output cut to the partial's schema (texts renamed to their side),
    with each side's ``non_english`` flag."""
    flags = {prefix + NON_ENGLISH_FIELD: column for column, prefix in text_columns.items()}
    columns = []
    for field in schema:
        source = renames.get(field.name, field.name)
        if field.name in flags:
            columns.append(_non_english(table, flags[field.name]))
        elif source in table.column_names:
            columns.append(table.column(source).cast(field.type))
        else:  # a text column this file lacks: its statistics are null already
            columns.append(pa.nulls(table.num_rows, field.type))
    return pa.Table.from_arrays(columns, schema=schema)


def _non_english(table: pa.Table, column: str) -> pa.Array:
    if column not in table.column_names:
        return pa.nulls(table.num_rows, pa.bool_())
    texts = table.column(column).to_pylist()
    return pa.array([None if t is None else is_non_english(t) for t in texts], pa.bool_())


@contextmanager
def _ray_session() -> Iterator[None]:
    """Uses the caller's Ray (a job on a cluster, a test's session) or starts one."""
    import ray

    from paraimage.ray_session import connect

    started = connect()  # a local Ray unless RAY_ADDRESS asks for a cluster
    try:
        yield
    finally:
        if started:
            ray.shutdown()
