"""The shard collector's memory bound: rows of unfinished shards past the budget are
spilled, the manifests are the same as with no bound, and nothing is lost or doubled."""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.base import ShardSpec
from paraimage.batches import rows_to_batch
from paraimage.manifest import SCHEMA_VERSION
from paraimage.shard_writer import ShardCollector, ShardIntegrityError, manifest_table

N_SHARDS, ROWS_PER_SHARD, BATCH_ROWS = 40, 25, 7


def row(shard: int, key: int) -> dict:
    return {
        "id": f"s{shard:03d}-{key:03d}", "source": "gen", "source_key": f"{key:03d}",
        "shard_id": f"s{shard:03d}", "run_id": "r", "schema_version": SCHEMA_VERSION,
        "status": "kept" if key % 3 else "rejected", "caption": "word " * 200,
        "_caption_image": b"\0" * 64,  # internal: never buffered
    }


def interleaved_batches(seed: int) -> list[pa.Table]:
    """Every row once, in a shuffled order, cut into batches that mix shards."""
    rows = [row(s, k) for s in range(N_SHARDS) for k in range(ROWS_PER_SHARD)]
    random.Random(seed).shuffle(rows)
    return [rows_to_batch(rows[i:i + BATCH_ROWS]) for i in range(0, len(rows), BATCH_ROWS)]


def shards() -> list[ShardSpec]:
    return [ShardSpec(f"s{s:03d}", "gen", "/gen", ROWS_PER_SHARD) for s in range(N_SHARDS)]


def collect(out: Path, batches: list[pa.Table], **kwargs) -> ShardCollector:
    out.mkdir()
    collector = ShardCollector(shards(), lambda s: out / f"{s}.parquet", **kwargs)
    for batch in batches:
        collector.add_batch(batch)
    collector.check_complete()
    return collector


def test_rows_past_the_budget_are_spilled_and_the_manifests_do_not_change(
    tmp_path: Path,
) -> None:
    batches = interleaved_batches(seed=7)
    unbounded = collect(tmp_path / "unbounded", batches)
    budget = 32 * 1024
    bounded = collect(tmp_path / "bounded", batches, spill_dir=tmp_path / "spill",
                      memory_budget=budget)
    largest_batch = max(manifest_table(batch).nbytes for batch in batches)
    # without a bound the driver holds most of the run at once; with one, the budget
    # plus the batch in hand
    assert unbounded.peak_buffered_bytes > 8 * budget
    assert bounded.peak_buffered_bytes <= budget + largest_batch
    assert bounded.largest_batch_bytes == largest_batch
    assert bounded.spill_files > 0 and bounded.spilled_rows > 0
    assert sorted(bounded.written) == sorted(unbounded.written) == [s.shard_id for s in shards()]
    for shard in shards():
        name = f"{shard.shard_id}.parquet"
        assert pq.read_table(tmp_path / "bounded" / name).equals(
            pq.read_table(tmp_path / "unbounded" / name))
    assert list((tmp_path / "spill").iterdir()) == []  # spilled files go with their shard
    assert bounded.buffered_bytes == 0


def test_spilled_rows_delivered_again_are_kept_once(tmp_path: Path) -> None:
    batches = interleaved_batches(seed=3)
    # a retried task re-delivers the first third of the run, after some was spilled
    redelivered = batches + batches[: len(batches) // 3]
    random.Random(1).shuffle(redelivered)
    collector = collect(tmp_path / "out", redelivered, spill_dir=tmp_path / "spill",
                        memory_budget=16 * 1024)
    rows = pq.read_table(tmp_path / "out").to_pylist()
    assert len(rows) == N_SHARDS * ROWS_PER_SHARD
    assert len({r["id"] for r in rows}) == N_SHARDS * ROWS_PER_SHARD
    assert collector.redelivered == sum(b.num_rows for b in batches[: len(batches) // 3])
    assert dict(collector.status_counts) == {"kept": 640, "rejected": 360}


def test_more_distinct_rows_than_planned_is_an_integrity_error(tmp_path: Path) -> None:
    collector = ShardCollector([ShardSpec("s000", "gen", "/gen", 2)],
                               lambda s: tmp_path / f"{s}.parquet")
    with pytest.raises(ShardIntegrityError,
                       match="shard 's000' produced 3 distinct rows, 2 planned"):
        collector.add_batch(rows_to_batch([row(0, 0), row(0, 1), row(0, 2)]))
    assert not (tmp_path / "s000.parquet").exists()


def test_a_row_outside_the_schema_is_refused_before_buffering(tmp_path: Path) -> None:
    from paraimage.manifest import ManifestRowError

    collector = ShardCollector([ShardSpec("s000", "gen", "/gen", 1)],
                               lambda s: tmp_path / f"{s}.parquet")
    with pytest.raises(ManifestRowError, match=r"columns not in the manifest schema: \['oops'\]"):
        collector.add({**row(0, 0), "oops": 1})
    with pytest.raises(ManifestRowError, match="nulls in 'run_id'"):
        collector.add({**row(0, 0), "run_id": None})
    assert collector.buffered_bytes == 0
