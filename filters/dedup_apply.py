"""Run-level dedup applied to the manifests: duplicates become ``rejected`` rows.

Shards are written independently (that is what makes runs resumable), so duplicates
across shards can only be decided once all shards exist. ``apply_dedup`` computes them
over the kept rows (``dedup_run``: exact sha256, then perceptual-hash neighbours, first
in (shard_id, source_key) order kept) and rewrites each affected manifest atomically
with ``status=rejected``, ``reject_reason=dedup_exact|dedup_near`` and ``duplicate_of``.
It is idempotent: rejected duplicates are not kept rows, so a rerun finds nothing new.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from filters.dedup import DEDUP_REASONS, write_dedup
from paraimage.manifest import MANIFEST_SCHEMA, STATUS_REJECTED


def apply_dedup(run_dir: Path, max_hamming: int) -> int:
    """Mark duplicates in ``run_dir``'s manifests; returns how many rows changed."""
    duplicates = pq.read_table(write_dedup(run_dir, max_hamming))
    if duplicates.num_rows == 0:
        return 0
    by_id = {
        row["id"]: (row["duplicate_of"], DEDUP_REASONS[row["dedup_kind"]])
        for row in duplicates.to_pylist()
    }
    changed = 0
    for path in sorted((run_dir / "manifests").glob("*.parquet")):
        table = pq.read_table(path)
        hit = pc.is_in(table.column("id"), value_set=pa.array(list(by_id))).to_pylist()
        if not any(hit):
            continue
        rows = table.to_pylist()
        for row, is_duplicate in zip(rows, hit, strict=True):
            if is_duplicate:
                twin, reason = by_id[row["id"]]
                row.update(status=STATUS_REJECTED, reject_reason=reason, duplicate_of=twin)
                changed += 1
        tmp = path.with_name(f"{path.name}.tmp")
        pq.write_table(pa.Table.from_pylist(rows, schema=MANIFEST_SCHEMA), tmp,
                       compression="zstd")
        tmp.replace(path)
    return changed
