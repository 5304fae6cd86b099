"""The recaption job's last console lines: the report it writes at the end of every run,
and the one thing to look at first."""

from __future__ import annotations

import logging
from pathlib import Path

from paraimage.summary import RunSummary
from workflows.runview.findings import findings
from workflows.runview.report import write_report

log = logging.getLogger("paraimage")


def closing_lines(run_dir: Path, summary: RunSummary) -> list[str]:
    """Write ``RUN_DIR/report/`` and say where it is and what to look at first. A
    report that cannot be written is a line, not a failed run: the manifests stand."""
    try:
        lines = [f"report: {write_report(run_dir)}"]
    except Exception as exc:  # noqa: BLE001 - the run's outputs are written already
        log.warning("run report not written", exc_info=True)
        lines = [f"report: not written ({type(exc).__name__}: {exc}); "
                 f"`paraimage report {run_dir}` retries it"]
    found = findings(summary)
    if not found:
        lines.append("look first: nothing (no caption flag, no reject, no error)")
    else:
        more = f" ({len(found) - 1} more in the report)" if len(found) > 1 else ""
        lines.append(f"look first: {found[0].text}{more}")
    return lines
