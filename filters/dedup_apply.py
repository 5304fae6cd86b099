"""Run-level dedup applied to the manifests: duplicates become ``rejected`` rows.

Shards are written independently (that is what makes runs resumable), so duplicates
across shards can only be decided once all shards exist. ``apply_dedup`` computes them
(``write_dedup``: exact sha256, then perceptual-hash neighbours, first in
(shard_id, source_key) order kept) over the rows that reached dedup kept, which
includes the rows an earlier invocation already marked, and writes the whole decision
to ``RUN_DIR/dedup/duplicates.parquet``.

* mode ``on``: each manifest whose rows disagree with that decision is rewritten
  atomically, duplicates with ``status=rejected``, ``reject_reason=dedup_exact|dedup_near``
  and ``duplicate_of``. Applying it again (a rerun) changes nothing and keeps the
  same ``duplicates.parquet``.
* mode ``score_only``: only ``duplicates.parquet`` is written; no row is rejected.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from filters.dedup import DEDUP_REASONS, write_dedup
from paraimage.atomic import atomic_path
from paraimage.manifest import MANIFEST_SCHEMA, STATUS_KEPT, STATUS_REJECTED


@dataclass(frozen=True)
class DedupOutcome:
    """What ``apply_dedup`` found and did."""

    duplicates: int  # rows of duplicates.parquet: the run's duplicates
    newly_rejected: int  # rows this call turned from kept into rejected
    rejects: bool  # mode on (rows rejected) or score_only (only the table written)

    def describe(self) -> str:
        """The console line: the run's duplicates, and what this invocation changed."""
        if not self.rejects:
            return (f"dedup (score_only): {self.duplicates} duplicates found, none rejected "
                    "(dedup/duplicates.parquet)")
        return f"dedup: {self.duplicates} duplicates rejected ({self.newly_rejected} new)"


def _verdict(row: dict[str, Any], decision: tuple[str, str] | None) -> dict[str, Any]:
    """The columns dedup owns for ``row``, given its decision (twin, reason) or None."""
    if decision is not None:
        twin, reason = decision
        return {"status": STATUS_REJECTED, "reject_reason": reason, "duplicate_of": twin}
    if row["reject_reason"] in DEDUP_REASONS.values():
        # marked by an earlier decision that no longer holds: it reached dedup kept
        return {"status": STATUS_KEPT, "reject_reason": None, "duplicate_of": None}
    return {}


def apply_dedup(run_dir: Path, max_hamming: int, reject: bool = True) -> DedupOutcome:
    """Decide the duplicates of ``run_dir``'s manifests; with ``reject``, mark them."""
    duplicates = pq.read_table(write_dedup(run_dir, max_hamming))
    if not reject:
        return DedupOutcome(duplicates.num_rows, 0, rejects=False)
    by_id = {
        row["id"]: (row["duplicate_of"], DEDUP_REASONS[row["dedup_kind"]])
        for row in duplicates.to_pylist()
    }
    newly_rejected = 0
    ids = pa.array(list(by_id), type=pa.string())
    marked = pa.array(list(DEDUP_REASONS.values()), type=pa.string())
    for path in sorted((run_dir / "manifests").glob("*.parquet")):
        table = pq.read_table(path)
        touched = pc.or_kleene(pc.is_in(table.column("id"), value_set=ids),
                               pc.is_in(table.column("reject_reason"), value_set=marked))
        if not pc.any(touched).as_py():
            continue  # no duplicate and nothing marked before: leave the file alone
        rows = table.to_pylist()
        changed = False
        for row in rows:
            verdict = _verdict(row, by_id.get(row["id"]))
            if any(row[column] != value for column, value in verdict.items()):
                newly_rejected += row["status"] == STATUS_KEPT
                row.update(verdict)
                changed = True
        if changed:
            with atomic_path(path) as tmp:
                pq.write_table(pa.Table.from_pylist(rows, schema=MANIFEST_SCHEMA), tmp,
                               compression="zstd")
    return DedupOutcome(duplicates.num_rows, newly_rejected, rejects=True)
