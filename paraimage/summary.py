"""The end-of-run summary: the funnel from all manifests of the run, via DuckDB.

Computed from the manifests on disk (not from this invocation's memory), so a resumed
run reports the whole run, and the numbers are the ones users will query later.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from paraimage.manifest import STATUS_ERROR, STATUS_KEPT, STATUS_REJECTED


@dataclass
class RunSummary:
    inputs: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    by_reject_reason: dict[str, int] = field(default_factory=dict)
    by_error_kind: dict[str, int] = field(default_factory=dict)
    by_caption_flag: dict[str, int] = field(default_factory=dict)
    by_caption_model: dict[str, int] = field(default_factory=dict)
    rows_this_invocation: int = 0
    seconds_this_invocation: float = 0.0

    @property
    def reconciles(self) -> bool:
        return self.inputs == sum(self.by_status.get(s, 0) for s in (
            STATUS_KEPT, STATUS_REJECTED, STATUS_ERROR))

    @property
    def images_per_s(self) -> float:
        if self.seconds_this_invocation <= 0:
            return 0.0
        return self.rows_this_invocation / self.seconds_this_invocation

    def to_dict(self) -> dict[str, Any]:
        return {
            "inputs": self.inputs,
            "by_status": self.by_status,
            "by_reject_reason": self.by_reject_reason,
            "by_error_kind": self.by_error_kind,
            "by_caption_flag": self.by_caption_flag,
            "by_caption_model": self.by_caption_model,
            "funnel_reconciles": self.reconciles,
            "rows_this_invocation": self.rows_this_invocation,
            "seconds_this_invocation": round(self.seconds_this_invocation, 2),
            "images_per_s": round(self.images_per_s, 3),
        }


def _counts(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, int]:
    return {str(key): int(count) for key, count in con.execute(sql).fetchall()}


def summarize(manifests: Sequence[Path]) -> RunSummary:
    summary = RunSummary()
    if not manifests:
        return summary
    con = duckdb.connect()
    files = [str(path) for path in manifests]
    con.read_parquet(files).create_view("m")
    summary.inputs = con.execute("SELECT count(*) FROM m").fetchone()[0]
    summary.by_status = _counts(
        con, "SELECT status, count(*) FROM m GROUP BY 1 ORDER BY 2 DESC, 1"
    )
    summary.by_reject_reason = _counts(
        con,
        "SELECT reject_reason, count(*) FROM m WHERE status = 'rejected' "
        "GROUP BY 1 ORDER BY 2 DESC, 1",
    )
    # error messages carry details after the first ':'; group by the kind before it
    summary.by_error_kind = _counts(
        con,
        "SELECT split_part(error, ':', 1), count(*) FROM m WHERE status = 'error' "
        "GROUP BY 1 ORDER BY 2 DESC, 1",
    )
    summary.by_caption_flag = _counts(
        con,
        "SELECT flag, count(*) FROM (SELECT unnest(caption_flags) AS flag FROM m) "
        "GROUP BY 1 ORDER BY 2 DESC, 1",
    )
    summary.by_caption_model = _counts(
        con,
        "SELECT caption_model, count(*) FROM m WHERE caption IS NOT NULL "
        "GROUP BY 1 ORDER BY 2 DESC, 1",
    )
    return summary


def format_summary(summary: RunSummary) -> str:
    lines = [f"inputs: {summary.inputs}"]
    for title, counts in (
        ("status", summary.by_status),
        ("reject reasons", summary.by_reject_reason),
        ("error kinds", summary.by_error_kind),
        ("caption flags", summary.by_caption_flag),
        ("caption models", summary.by_caption_model),
    ):
        if counts:
            lines.append(f"{title}:")
            lines.extend(f"  {count:>8}  {key}" for key, count in counts.items())
    verdict = "reconciles" if summary.reconciles else "DOES NOT RECONCILE"
    lines.append(f"funnel: inputs = kept + rejected + error {verdict}")
    lines.append(
        f"this invocation: {summary.rows_this_invocation} rows in "
        f"{summary.seconds_this_invocation:.1f} s ({summary.images_per_s:.2f} images/s)"
    )
    return "\n".join(lines)
