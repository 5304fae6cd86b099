"""``paraimage status`` and ``paraimage report``.

    paraimage status RUN_DIR [--json]
    paraimage report RUN_DIR [--out DIR] [--sample N] [--seed S]

Both read only the run directory. A folder that is not a run (no plan.json, no
manifests) or a damaged run file prints one line and exits 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from paraimage.rundir import RunDirError

EXIT_BAD_INPUT = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    status = subparsers.add_parser(
        "status",
        help="where a run stands: shards, rows by status, reasons, throughput, ETA",
        description="Read a run directory (running, finished or killed) and print its "
        "shards complete / in progress / to do, rows by status, top reasons, throughput "
        "over time, the ETA while it runs, its invocations and the estimate beside the "
        "actual figures when RUN_DIR/estimate.json exists.",
    )
    status.add_argument("run_dir", type=Path, help="the run folder (RUN_DIR)")
    status.add_argument("--json", action="store_true", help="print the same as JSON")
    status.set_defaults(func=status_command)

    report = subparsers.add_parser(
        "report",
        help="a static HTML report of a run: funnel, statistics, galleries of images",
        description="Write a self-contained HTML folder (opens from disk, no server): the "
        "funnel, the statistics report, the captioners compared, a seeded sample of kept "
        "images with their captions, flags and scores, and rejected and error rows per "
        "reason. Samples are drawn by DuckDB; no page holds every row.",
    )
    report.add_argument("run_dir", type=Path, help="the run folder (RUN_DIR)")
    report.add_argument("--out", type=Path, help="output folder (default RUN_DIR/report)")
    report.add_argument("--sample", type=int, default=None,
                        help="kept images in the gallery (default 60)")
    report.add_argument("--per-reason", type=int, default=None,
                        help="examples per reject reason and error kind (default 12)")
    report.add_argument("--seed", type=int, default=0, help="seed of the sample")
    report.set_defaults(func=report_command)


def _check_run(run_dir: Path) -> str | None:
    if not run_dir.is_dir():
        return f"{run_dir} is not a directory"
    if not (run_dir / "plan.json").exists() and not (run_dir / "manifests").is_dir():
        return f"{run_dir} is not a run directory (no plan.json, no manifests/)"
    return None


def status_command(args: argparse.Namespace) -> int:
    from workflows.runview.status import run_status
    from workflows.runview.status_text import format_status

    problem = _check_run(args.run_dir)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        status = run_status(args.run_dir)
    except RunDirError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.json:
        print(json.dumps(status.to_dict(), indent=1))
    else:
        print(format_status(status))
    return 0


def report_command(args: argparse.Namespace) -> int:
    from workflows.runview.report import ReportOptions, write_report

    problem = _check_run(args.run_dir)
    if problem is None and not any((args.run_dir / "manifests").glob("*.parquet")):
        problem = f"{args.run_dir} has no manifests yet: nothing to report"
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        options = ReportOptions.from_args(args)
        index = write_report(args.run_dir, args.out, options)
    except (RunDirError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"report: {index}")
    return 0
