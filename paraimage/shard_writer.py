"""Collects pipeline rows per shard and writes each shard's manifest once it is whole.

Rows of one shard may arrive in any order and interleaved with other shards (Ray
Data does not preserve order across actors); a shard is written the moment its
planned number of distinct rows has arrived, atomically, sorted by ``source_key`` so
reruns produce identical files.

The driver's memory does not grow with the run (docs/design-notes.md, "Bounded driver
memory"): rows stay Arrow tables (no per-row Python objects), a written shard's rows
are dropped at once, and when the rows of unfinished shards pass ``memory_budget``
bytes the largest such shard is spilled to ``spill_dir`` (Arrow IPC files) and read
back when it completes. So the driver holds at most the budget, one batch, and the
shard being written.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from paraimage.atomic import atomic_path
from paraimage.batches import INTERNAL_PREFIX, rows_to_batch
from paraimage.manifest import MANIFEST_COLUMNS, MANIFEST_SCHEMA, ManifestRowError, to_table
from paraimage.source import ShardSpec

DEFAULT_MEMORY_BUDGET = 256 * 2**20
SORT_KEYS = [("source_key", "ascending"), ("id", "ascending")]


class ShardIntegrityError(RuntimeError):
    """A shard produced more rows than planned, a duplicate id, or too few rows."""


def write_manifest_table(path: Path, table: pa.Table) -> None:
    with atomic_path(path) as tmp:
        pq.write_table(table.sort_by(SORT_KEYS), tmp, compression="zstd")


def write_manifest(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    write_manifest_table(path, to_table(rows))


def manifest_table(batch: pa.Table) -> pa.Table:
    """``batch`` as exactly ``MANIFEST_SCHEMA``: internal columns dropped, missing ones
    null, each column cast to its declared type. Columns outside the schema, and nulls
    in a required column, are a ``ManifestRowError`` (as ``to_table`` says for rows)."""
    public = [name for name in batch.column_names if not name.startswith(INTERNAL_PREFIX)]
    extra = sorted(set(public) - set(MANIFEST_COLUMNS))
    if extra:
        raise ManifestRowError(f"columns not in the manifest schema: {extra}")
    arrays = []
    for field in MANIFEST_SCHEMA:
        if field.name not in batch.column_names:
            if not field.nullable and batch.num_rows:
                raise ManifestRowError(f"manifest rows lack the required column {field.name!r}")
            arrays.append(pa.nulls(batch.num_rows, field.type))
            continue
        column = batch.column(field.name)
        if not field.nullable and column.null_count:
            raise ManifestRowError(f"manifest rows have nulls in {field.name!r}")
        try:
            arrays.append(column.cast(field.type) if column.type != field.type else column)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
            raise ManifestRowError(
                f"manifest column {field.name!r} ({column.type}) does not fit the schema "
                f"({field.type}): {exc}"
            ) from exc
    return pa.Table.from_arrays(arrays, schema=MANIFEST_SCHEMA)


def split_by_shard(table: pa.Table) -> Iterable[tuple[str, pa.Table]]:
    """(shard_id, its rows) for each shard in ``table``, with Arrow kernels only."""
    if not table.num_rows:
        return
    shard_ids = table.column("shard_id")
    if pc.all(pc.equal(shard_ids, shard_ids[0])).as_py():  # the common case: one shard
        yield shard_ids[0].as_py(), table
        return
    ordered = table.take(pc.sort_indices(shard_ids))
    runs = pc.value_counts(ordered.column("shard_id").combine_chunks())
    # value_counts lists values in first-seen order, which after sorting is sorted order
    offset = 0
    for item in runs:
        count = item["counts"].as_py()
        yield item["values"].as_py(), ordered.slice(offset, count)
        offset += count


def first_of_each_id(table: pa.Table) -> pa.Table:
    """``table`` without repeated ids, keeping each id's first row."""
    if table.num_rows == 0:
        return table
    indexed = table.select(["id"]).append_column("_i", pa.array(range(table.num_rows)))
    firsts = indexed.group_by("id", use_threads=False).aggregate([("_i", "min")])
    first_indices = firsts.column("_i_min")
    return table.take(pc.take(first_indices, pc.sort_indices(first_indices)))


class ShardCollector:
    def __init__(
        self,
        shards: Iterable[ShardSpec],
        path_for: Callable[[str], Path],
        on_written: Callable[[ShardSpec, pa.Table], None] | None = None,
        spill_dir: Path | None = None,
        memory_budget: int = DEFAULT_MEMORY_BUDGET,
    ) -> None:
        self.expected = {shard.shard_id: shard for shard in shards}
        self.path_for = path_for
        self.on_written = on_written
        self.spill_dir = spill_dir
        self.memory_budget = memory_budget
        self.buffers: dict[str, list[pa.Table]] = defaultdict(list)
        self.spilled: dict[str, list[Path]] = defaultdict(list)
        # rows arrived per unfinished shard, a repeated id counted each time: the
        # shard is checked for completeness when this reaches its planned count
        self.arrived: Counter[str] = Counter()
        self.buffered_bytes = 0
        self.peak_buffered_bytes = 0
        self.largest_batch_bytes = 0  # what one output block of the pipeline weighs
        self.spill_files = 0
        self.spilled_rows = 0
        self.written: list[str] = []
        self.finished: set[str] = set()
        self.redelivered = 0
        self.status_counts: Counter[str] = Counter()

    def add(self, row: dict[str, Any]) -> None:
        """One row (tests and small tools); the pipeline hands whole batches."""
        self.add_batch(rows_to_batch([row]))

    def add_batch(self, batch: pa.Table) -> None:
        table = manifest_table(batch)
        self.largest_batch_bytes = max(self.largest_batch_bytes, table.nbytes)
        for shard_id, rows in split_by_shard(table):
            shard = self.expected.get(shard_id)
            if shard is None:
                if shard_id in self.finished:
                    # a read task retried after a worker died re-yields rows already
                    # written: the first copy stands
                    self.redelivered += rows.num_rows
                    continue
                raise ShardIntegrityError(f"row for unplanned shard {shard_id!r}")
            self.buffers[shard_id].append(rows)
            self._count_buffered(rows.nbytes)
            self.arrived[shard_id] += rows.num_rows
            if self.arrived[shard_id] >= shard.n_records:
                self._try_flush(shard)
        while self.buffered_bytes > self.memory_budget and self.spill_dir is not None:
            self._spill_largest()

    def _count_buffered(self, nbytes: int) -> None:
        self.buffered_bytes += nbytes
        self.peak_buffered_bytes = max(self.peak_buffered_bytes, self.buffered_bytes)

    def _take(self, shard_id: str) -> pa.Table:
        """Every row of ``shard_id`` held so far (memory and spill), released here."""
        parts = [ipc.open_file(pa.memory_map(str(path))).read_all()
                 for path in self.spilled.pop(shard_id, [])]
        in_memory = self.buffers.pop(shard_id, [])
        self.buffered_bytes -= sum(part.nbytes for part in in_memory)
        parts.extend(in_memory)
        return pa.concat_tables(parts) if parts else MANIFEST_SCHEMA.empty_table()

    def _try_flush(self, shard: ShardSpec) -> None:
        spilled = list(self.spilled.get(shard.shard_id, []))
        rows = self._take(shard.shard_id)
        unique = first_of_each_id(rows)
        repeated = rows.num_rows - unique.num_rows
        # the same re-delivery, mid-shard; a source that really yields an id twice
        # still fails, as a shard that never reaches its planned count
        self.redelivered += repeated
        if unique.num_rows < shard.n_records:
            self.buffers[shard.shard_id] = [unique]
            self._count_buffered(unique.nbytes)
            self.arrived[shard.shard_id] = unique.num_rows
        elif unique.num_rows > shard.n_records:
            raise ShardIntegrityError(
                f"shard {shard.shard_id!r} produced {unique.num_rows} distinct rows, "
                f"{shard.n_records} planned"
            )
        else:
            self._write(shard, unique)
        for path in spilled:
            path.unlink(missing_ok=True)

    def _write(self, shard: ShardSpec, rows: pa.Table) -> None:
        write_manifest_table(self.path_for(shard.shard_id), rows)
        del self.expected[shard.shard_id]
        self.arrived.pop(shard.shard_id, None)
        self.finished.add(shard.shard_id)
        self.written.append(shard.shard_id)
        self.status_counts.update(rows.column("status").to_pylist())
        if self.on_written:
            self.on_written(shard, rows)

    def _spill_largest(self) -> None:
        assert self.spill_dir is not None
        shard_id = max(self.buffers, key=lambda s: sum(part.nbytes for part in self.buffers[s]))
        parts = self.buffers.pop(shard_id)
        self.buffered_bytes -= sum(part.nbytes for part in parts)
        table = pa.concat_tables(parts)
        self.spill_dir.mkdir(parents=True, exist_ok=True)
        path = self.spill_dir / f"{shard_id}.{uuid.uuid4().hex[:12]}.arrow"
        with ipc.new_file(str(path), table.schema) as writer:
            writer.write_table(table)
        self.spilled[shard_id].append(path)
        self.spill_files += 1
        self.spilled_rows += table.num_rows

    def flush_empty(self) -> None:
        """Shards with zero planned records never see a row: write them empty."""
        for shard in [s for s in self.expected.values() if s.n_records == 0]:
            self._write(shard, MANIFEST_SCHEMA.empty_table())

    def check_complete(self) -> None:
        if self.expected:
            missing = {
                shard_id: f"{self.arrived.get(shard_id, 0)}/{shard.n_records} rows"
                for shard_id, shard in self.expected.items()
            }
            raise ShardIntegrityError(f"shards left incomplete by the pipeline: {missing}")
