"""The text of ``paraimage status`` (``--json`` prints ``RunStatus.to_dict()`` instead)."""

from __future__ import annotations

from paraimage.console import format_duration
from workflows.runview.status import ESTIMATE_NAME, STATE_RUNNING, RunStatus

BAR_WIDTH = 30


def _duration(seconds: float | None) -> str:
    return "?" if seconds is None else format_duration(seconds)


def _rate(value: float | None) -> str:
    return "?" if value is None else f"{value:.2f} images/s"


def _counts(title: str, counts: dict[str, int]) -> list[str]:
    if not counts:
        return []
    return [f"{title}:", *(f"  {n:>8}  {key}" for key, n in counts.items())]


def format_status(status: RunStatus) -> str:
    state = status.state
    if state == STATE_RUNNING:
        state = "running (its end is not recorded: still running, or killed)"
    lines = [f"run {status.run_id or '?'} in {status.run_dir}: {state}"]
    lines.append(
        f"shards: {status.shards_complete} complete, {status.shards_in_progress} in "
        f"progress, {status.shards_to_do} to do, of {status.shards_planned} planned"
    )
    if status.in_progress:
        lines.append(f"  in progress: {', '.join(status.in_progress)}")
    share = (f" ({100 * status.rows_written / status.rows_planned:.1f}%)"
             if status.rows_planned else "")
    lines.append(f"rows: {status.rows_written} of {status.rows_planned} planned "
                 f"written{share}")
    lines += _counts("status", status.by_status)
    lines += _counts("top reject reasons", status.reject_reasons)
    lines += _counts("top error kinds", status.error_kinds)
    if status.caption_flags:
        lines.append(f"caption flags (of {status.captioned} captions):")
        lines += [f"  {n:>8}  {key}" for key, n in status.caption_flags.items()]
    if status.timeline:
        lines.append("throughput (rows of complete manifests, by file time):")
        peak = max(slot["rows"] for slot in status.timeline) or 1
        for slot in status.timeline:
            bar = "#" * round(BAR_WIDTH * slot["rows"] / peak)
            lines.append(f"  {slot['start'][11:19]}-{slot['end'][11:19]} "
                         f"{slot['rows']:>8} rows {slot['images_per_s']:>9.2f}/s  {bar}")
    lines.append(f"average: {_rate(status.average_images_per_s)} over the invocations")
    if status.eta is not None:
        eta = status.eta
        if eta["seconds"] is None:
            lines.append(f"ETA: unknown ({eta['remaining_rows']} rows left; no shard "
                         "written by this invocation yet)")
        else:
            lines.append(f"ETA: {_duration(eta['seconds'])} ({eta['remaining_rows']} rows "
                         f"left at {_rate(eta['images_per_s'])}), at {eta['at']}")
    if status.invocations:
        lines.append("invocations:")
    for number, inv in enumerate(status.invocations, 1):
        ended = inv.ended or "-"
        lines.append(
            f"  {number}. {inv.started} -> {ended}  {inv.outcome}: {inv.rows} rows in "
            f"{_duration(inv.seconds)} ({_rate(inv.images_per_s)})"
        )
        if inv.error:
            lines.append(f"     error: {inv.error}")
    if status.estimate is None:
        lines.append(f"estimate: none ({ESTIMATE_NAME} not in the run directory)")
    else:
        lines.append("estimate vs actual:")
        for item in status.estimate_vs_actual:
            actual = "-" if item["actual"] is None else f"{item['actual']:g}"
            ratio = item["actual_over_estimate"]
            lines.append(f"  {item['field']}: estimate {item['estimate']:g}, actual {actual}"
                         + (f" (x{ratio:g})" if ratio is not None else ""))
        if not status.estimate_vs_actual:
            lines.append(f"  (no field of {ESTIMATE_NAME} has an actual figure yet)")
    return "\n".join(lines)
