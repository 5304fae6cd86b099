"""Collects pipeline rows per shard and writes each shard's manifest once it is whole.

Rows of one shard may arrive in any order and interleaved with other shards (Ray
Data does not preserve order across actors); a shard is written the moment its
planned number of rows has arrived, atomically, sorted by ``source_key`` so reruns
produce identical files.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from curation.base import ShardSpec
from paraimage.batches import public_columns
from paraimage.manifest import to_table
from paraimage.rundir import TMP_SUFFIX


class ShardIntegrityError(RuntimeError):
    """A shard produced more rows than planned, a duplicate id, or too few rows."""


def write_manifest(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    table = to_table(sorted(rows, key=lambda row: (row["source_key"], row["id"])))
    tmp = path.with_name(f"{path.name}{TMP_SUFFIX}")
    pq.write_table(table, tmp, compression="zstd")
    with open(tmp, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class ShardCollector:
    def __init__(
        self,
        shards: Iterable[ShardSpec],
        path_for: Callable[[str], Path],
        on_written: Callable[[ShardSpec, list[dict[str, Any]]], None] | None = None,
    ) -> None:
        self.expected = {shard.shard_id: shard for shard in shards}
        self.path_for = path_for
        self.on_written = on_written
        self.buffers: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.seen_ids: dict[str, set[str]] = defaultdict(set)
        self.written: list[str] = []
        self.finished: set[str] = set()
        self.redelivered = 0
        self.status_counts: Counter[str] = Counter()

    def add(self, row: dict[str, Any]) -> None:
        shard_id = row["shard_id"]
        shard = self.expected.get(shard_id)
        if shard is None:
            if shard_id in self.finished:
                # a read task retried after a worker died re-yields rows already
                # written: the first copy stands
                self.redelivered += 1
                return
            raise ShardIntegrityError(f"row for unplanned shard {shard_id!r}")
        if row["id"] in self.seen_ids[shard_id]:
            # the same re-delivery, mid-shard; a source that really yields an id twice
            # still fails, as a shard that never reaches its planned count
            self.redelivered += 1
            return
        self.seen_ids[shard_id].add(row["id"])
        self.buffers[shard_id].append(public_columns(row))
        if len(self.buffers[shard_id]) == shard.n_records:
            self._flush(shard)

    def _flush(self, shard: ShardSpec) -> None:
        rows = self.buffers.pop(shard.shard_id)
        self.seen_ids.pop(shard.shard_id, None)
        write_manifest(self.path_for(shard.shard_id), rows)
        del self.expected[shard.shard_id]
        self.finished.add(shard.shard_id)
        self.written.append(shard.shard_id)
        self.status_counts.update(row["status"] for row in rows)
        if self.on_written:
            self.on_written(shard, rows)

    def flush_empty(self) -> None:
        """Shards with zero planned records never see a row: write them empty."""
        for shard in [s for s in self.expected.values() if s.n_records == 0]:
            self.buffers[shard.shard_id] = []
            self._flush(shard)

    def check_complete(self) -> None:
        if self.expected:
            missing = {
                shard_id: f"{len(self.buffers.get(shard_id, []))}/{shard.n_records} rows"
                for shard_id, shard in self.expected.items()
            }
            raise ShardIntegrityError(f"shards left incomplete by the pipeline: {missing}")
