"""The end-of-run summary: the funnel from all manifests of the run, via DuckDB.

Computed from the manifests on disk (not from this invocation's memory), read with the
run's decisions applied (``manifest_reader.py``), so a resumed run reports the whole
run, and the numbers are the ones users will query later. Reasons and error kinds are
the funnel's one definition (``paraimage/funnel.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from paraimage.funnel import counts_sql
from paraimage.manifest import STATUS_ERROR, STATUS_KEPT, STATUS_REJECTED
from paraimage.manifest_reader import run_dir_of, run_sql


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


def _ranked(counts: dict[str, int]) -> dict[str, int]:
    """Most rows first, then by key (the order every summary prints)."""
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def summarize(manifests: Sequence[Path]) -> RunSummary:
    """The summary of ``manifests`` (files of one run's ``manifests/`` folder, all or
    the complete ones) with the run's decisions applied."""
    summary = RunSummary()
    if not manifests:
        return summary
    con = duckdb.connect()
    run_dir = run_dir_of(manifests[0])
    con.execute(f"CREATE VIEW m AS {run_sql(con, run_dir, manifests=list(manifests))}")
    by_status: dict[str, int] = {}
    by_reason: dict[str, dict[str, int]] = {STATUS_REJECTED: {}, STATUS_ERROR: {}}
    for status, reason, n in con.execute(counts_sql("m")).fetchall():
        by_status[str(status)] = by_status.get(str(status), 0) + int(n)
        if status in by_reason:
            by_reason[status][str(reason)] = int(n)
    summary.inputs = sum(by_status.values())
    summary.by_status = _ranked(by_status)
    summary.by_reject_reason = _ranked(by_reason[STATUS_REJECTED])
    summary.by_error_kind = _ranked(by_reason[STATUS_ERROR])
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
