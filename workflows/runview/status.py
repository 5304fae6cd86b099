"""``paraimage status``: where a run stands, read from its run directory alone.

Nothing here talks to Ray or the job: a running run, a finished one and one killed
part-way are told apart by what is on disk.

* shards: ``plan.json`` plans them; one is *complete* when its manifest exists with the
  planned row count (``RunDir.is_complete``), *in progress* when only its temp file
  (``<shard>.parquet.tmp``, which the writer renames once whole) or a manifest with
  another row count is there, *to do* otherwise;
* rows by status, reject reasons, error kinds and caption flags: DuckDB over the
  complete manifests (``paraimage.summary``, the figures of the job's own summary);
* throughput over time: the rows of each complete manifest at its file's mtime;
* invocations and their outcome: ``run.json``; ETA while the last one is running;
* the estimate (``RUN_DIR/estimate.json``, from ``paraimage estimate``) beside the
  actual figures, when there is one.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from paraimage.run_record import OUTCOME_COMPLETED, OUTCOME_RUNNING
from paraimage.rundir import TMP_SUFFIX, RunDir
from paraimage.summary import summarize

ESTIMATE_NAME = "estimate.json"
TOP_REASONS = 10
TIMELINE_BINS = 10

STATE_NOT_STARTED = "not started"
STATE_RUNNING = "running"
STATE_FINISHED = "finished"


@dataclass
class Invocation:
    started: str | None
    ended: str | None
    outcome: str
    rows: int
    seconds: float | None
    images_per_s: float | None
    argv: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class RunStatus:
    run_dir: str
    run_id: str | None
    state: str
    shards_planned: int
    shards_complete: int
    shards_in_progress: int
    shards_to_do: int
    in_progress: list[str]
    rows_planned: int
    rows_written: int
    by_status: dict[str, int]
    reject_reasons: dict[str, int]
    error_kinds: dict[str, int]
    caption_flags: dict[str, int]
    captioned: int
    timeline: list[dict[str, Any]]
    average_images_per_s: float | None
    invocations: list[Invocation]
    eta: dict[str, Any] | None
    estimate: dict[str, Any] | None
    estimate_vs_actual: list[dict[str, Any]]
    now: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _parse_time(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


def _state(invocations: list[dict[str, Any]], complete: int, planned: int) -> str:
    if not invocations:
        return STATE_NOT_STARTED
    last = invocations[-1]
    outcome = last.get("outcome", OUTCOME_RUNNING)
    if outcome == OUTCOME_RUNNING and last.get("ended") is None:
        return STATE_RUNNING
    if outcome == OUTCOME_COMPLETED and complete == planned:
        return STATE_FINISHED
    return str(outcome)


def _timeline(written: list[tuple[float, int]], start: float, end: float,
              bins: int = TIMELINE_BINS) -> list[dict[str, Any]]:
    """Rows written per equal slice of [start, end] (a manifest counts at its mtime)."""
    if not written or end <= start:
        return []
    width = (end - start) / bins
    rows = [0] * bins
    for mtime, n in written:
        index = min(bins - 1, max(0, int((mtime - start) // width)))
        rows[index] += n
    return [
        {"start": _iso(start + i * width), "end": _iso(start + (i + 1) * width),
         "rows": n, "images_per_s": round(n / width, 3)}
        for i, n in enumerate(rows)
    ]


def _invocation(raw: dict[str, Any], written: list[tuple[float, int]],
                now: float) -> Invocation:
    started = _parse_time(raw.get("started"))
    ended = _parse_time(raw.get("ended"))
    summary = raw.get("summary") or {}
    if "rows_this_invocation" in summary:
        rows = int(summary["rows_this_invocation"])
        seconds: float | None = float(summary.get("seconds_this_invocation") or 0.0)
    else:  # running, killed or failed: the manifests written while it ran
        until = ended or (now if raw.get("outcome", OUTCOME_RUNNING) == OUTCOME_RUNNING
                          else math.inf)
        mine = [(t, n) for t, n in written if started is not None and started <= t <= until]
        rows = sum(n for _, n in mine)
        if started is None:
            seconds = None
        elif ended is not None or until == now:
            seconds = (ended or now) - started
        else:  # killed: it lasted at least until its last manifest
            seconds = max((t for t, _ in mine), default=started) - started
    rate = rows / seconds if seconds else None
    return Invocation(
        started=raw.get("started"), ended=raw.get("ended"),
        outcome=str(raw.get("outcome", OUTCOME_RUNNING)), rows=rows,
        seconds=round(seconds, 2) if seconds is not None else None,
        images_per_s=round(rate, 3) if rate is not None else None,
        argv=[str(a) for a in raw.get("argv") or []], error=raw.get("error"),
    )


def _eta(state: str, invocation: Invocation | None, remaining: int,
         now: float) -> dict[str, Any] | None:
    if state != STATE_RUNNING or invocation is None:
        return None
    rate = invocation.images_per_s
    if not rate:
        return {"remaining_rows": remaining, "images_per_s": rate, "seconds": None,
                "at": None}
    seconds = remaining / rate
    return {"remaining_rows": remaining, "images_per_s": rate, "seconds": round(seconds, 1),
            "at": _iso(now + seconds)}


def load_estimate(root: Path) -> dict[str, Any] | None:
    path = root / ESTIMATE_NAME
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def estimated_figures(estimate: dict[str, Any]) -> dict[str, float]:
    """The figures of ``paraimage estimate``'s estimate.json that a run can be held
    against: rows, wall seconds, images/s, GPU-hours, the status shares."""
    figures: dict[str, float] = {}
    planned = _number(estimate.get("planned_inputs"))
    seconds = _number(estimate.get("projected_seconds"))
    if planned is not None:
        figures["rows"] = planned
    if seconds is not None:
        figures["seconds"] = seconds
        if planned and seconds > 0:
            figures["images_per_s"] = planned / seconds
    gpu_hours = _number(estimate.get("gpu_hours"))
    if gpu_hours:
        figures["gpu_hours"] = gpu_hours
    sampled = _number(estimate.get("sampled_inputs"))
    statuses = estimate.get("statuses")
    if sampled and isinstance(statuses, dict):
        for status in ("kept", "rejected", "error"):
            figures[f"{status}_share"] = (_number(statuses.get(status)) or 0.0) / sampled
    return figures


def compare_estimate(estimate: dict[str, Any] | None,
                     actual: dict[str, float | None]) -> list[dict[str, Any]]:
    """One entry per estimated figure, with the actual one where the run has it yet."""
    if not estimate:
        return []
    out = []
    for name, value in estimated_figures(estimate).items():
        got = actual.get(name)
        ratio = got / value if got is not None and value else None
        out.append({"field": name, "estimate": round(value, 4),
                    "actual": None if got is None else round(got, 4),
                    "actual_over_estimate": round(ratio, 3) if ratio is not None else None})
    return out


def run_status(root: Path, now: float | None = None) -> RunStatus:
    """Everything ``paraimage status`` shows. ``now`` (epoch seconds) is for tests."""
    now = time.time() if now is None else now
    run_dir = RunDir(Path(root))
    plan = run_dir.load_plan() or []
    record = run_dir.read_record()
    raw_invocations = list(record.get("invocations") or [])
    complete, in_progress, written = [], [], []
    for shard in plan:
        path = run_dir.manifest_path(shard.shard_id)
        tmp = path.with_name(f"{path.name}{TMP_SUFFIX}")
        if path.exists():
            n_rows = pq.ParquetFile(path).metadata.num_rows
            if n_rows == shard.n_records:
                complete.append(path)
                written.append((path.stat().st_mtime, n_rows))
                continue
            in_progress.append(shard.shard_id)
        elif tmp.exists():
            in_progress.append(shard.shard_id)
    summary = summarize(complete)
    rows_planned = sum(shard.n_records for shard in plan)
    rows_written = sum(n for _, n in written)
    state = _state(raw_invocations, len(complete), len(plan))
    invocations = [_invocation(raw, written, now) for raw in raw_invocations]
    starts = [t for t in (_parse_time(r.get("started")) for r in raw_invocations) if t]
    start = min(starts + [t for t, _ in written], default=now)
    end = now if state == STATE_RUNNING else max([t for t, _ in written], default=start)
    busy = sum(i.seconds or 0.0 for i in invocations)
    made = sum(i.rows for i in invocations)
    average = round(made / busy, 3) if busy else None
    eta = _eta(state, invocations[-1] if invocations else None,
               rows_planned - rows_written, now)
    estimate = load_estimate(run_dir.root)
    finished = state == STATE_FINISHED
    gpus = _number((estimate or {}).get("gpus"))
    actual: dict[str, float | None] = {
        "rows": rows_planned,
        "seconds": busy if finished else None,
        "images_per_s": average,
        "gpu_hours": busy / 3600 * gpus if finished and gpus else None,
        **{f"{s}_share": (summary.by_status.get(s, 0) / rows_written if rows_written
                          else None) for s in ("kept", "rejected", "error")},
    }
    return RunStatus(
        run_dir=str(run_dir.root), run_id=record.get("run_id"), state=state,
        shards_planned=len(plan), shards_complete=len(complete),
        shards_in_progress=len(in_progress),
        shards_to_do=len(plan) - len(complete) - len(in_progress),
        in_progress=in_progress, rows_planned=rows_planned, rows_written=rows_written,
        by_status=summary.by_status,
        reject_reasons=dict(list(summary.by_reject_reason.items())[:TOP_REASONS]),
        error_kinds=dict(list(summary.by_error_kind.items())[:TOP_REASONS]),
        caption_flags=summary.by_caption_flag,
        captioned=sum(summary.by_caption_model.values()),
        timeline=_timeline(written, start, end), average_images_per_s=average,
        invocations=invocations, eta=eta, estimate=estimate,
        estimate_vs_actual=compare_estimate(estimate, actual), now=_iso(now),
    )
