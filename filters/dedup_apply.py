"""Run-level dedup as a decision: duplicates become ``rejected`` rows in every reader's
view of the run, and no manifest is rewritten.

Shards are written independently (that is what makes runs resumable), so duplicates
across shards can only be decided once all shards exist. ``apply_dedup`` computes them
(``write_dedup``: exact sha256, then perceptual-hash neighbours, first in
(shard_id, source_key) order kept) over the rows that reached dedup kept, writes the
finding to ``RUN_DIR/dedup/duplicates.parquet`` and the verdict to the decision table
``RUN_DIR/decisions/dedup.parquet`` (``paraimage/manifest_reader.py``), which every
reader of the run joins on ``id``:

* mode ``on``: each duplicate is decided ``status=rejected``,
  ``reject_reason=dedup_exact|dedup_near`` and ``duplicate_of`` its kept twin;
* mode ``score_only``: only ``duplicates.parquet`` says what was found; the decision
  table rejects nothing.

Either way a row that an earlier version of dedup marked inside its manifest (it
rewrote manifests) and that is no longer a duplicate is decided ``kept`` again, so
the marks of an old run follow the new decision. Deciding again (a rerun) reads the
run without dedup's own previous decision, so it finds the same duplicates and writes
the same tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from filters.dedup import DEDUP_MEMORY_LIMIT, DEDUP_REASONS, DEDUP_STEP, write_dedup
from paraimage.manifest import STATUS_KEPT, STATUS_REJECTED
from paraimage.manifest_reader import (
    decision_schema,
    manifest_files,
    read_sql,
    run_sql,
    write_decisions,
)

DECISION_SCHEMA = decision_schema(["duplicate_of"])


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


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> int:
    row = con.execute(sql, params).fetchone()
    return int(row[0]) if row else 0


def apply_dedup(run_dir: Path, max_hamming: int, reject: bool = True,
                memory_limit: str = DEDUP_MEMORY_LIMIT) -> DedupOutcome:
    """Decide the duplicates of ``run_dir``'s manifests; with ``reject``, reject them.
    ``memory_limit``: DuckDB's share of the memory (``filters.dedup``)."""
    run_dir = Path(run_dir)
    duplicates = pq.read_table(write_dedup(run_dir, max_hamming, memory_limit=memory_limit))
    manifests = manifest_files(run_dir)
    dup_ids = duplicates.column("id").to_pylist()
    con = duckdb.connect()
    rejected = {"id": [], "status": [], "reject_reason": [], "duplicate_of": []}
    newly_rejected = 0
    if reject and dup_ids and manifests:
        for row in duplicates.to_pylist():
            rejected["id"].append(row["id"])
            rejected["status"].append(STATUS_REJECTED)
            rejected["reject_reason"].append(DEDUP_REASONS[row["dedup_kind"]])
            rejected["duplicate_of"].append(row["duplicate_of"])
        # before this decision replaces the previous one: what the readers saw kept
        newly_rejected = _scalar(
            con, f"SELECT count(*) FROM ({run_sql(con, run_dir)}) "
            f"WHERE status = '{STATUS_KEPT}' AND id IN (SELECT unnest($ids))",
            {"ids": dup_ids})
    lifted: list[str] = []
    if manifests:
        # Marks an earlier version wrote into the manifests that no longer hold.
        lifted = [r[0] for r in con.execute(
            f"SELECT id FROM ({read_sql(con, manifests)}) "
            "WHERE reject_reason IN (SELECT unnest($marked)) "
            "AND id NOT IN (SELECT unnest($ids)) ORDER BY id",
            {"marked": list(DEDUP_REASONS.values()), "ids": dup_ids if reject else []},
        ).fetchall()]
    decisions = pa.table({
        "id": rejected["id"] + lifted,
        "status": rejected["status"] + [STATUS_KEPT] * len(lifted),
        "reject_reason": rejected["reject_reason"] + [None] * len(lifted),
        "duplicate_of": rejected["duplicate_of"] + [None] * len(lifted),
    }, schema=DECISION_SCHEMA)
    write_decisions(run_dir, DEDUP_STEP, decisions)
    return DedupOutcome(duplicates.num_rows, newly_rejected, rejects=reject)
