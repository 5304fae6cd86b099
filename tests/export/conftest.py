from __future__ import annotations

import sys
from pathlib import Path

import pytest

# --import-mode=importlib puts no test folder on sys.path; export_helpers is imported
# by name, so this folder goes on it (as tests/stats does).
sys.path.insert(0, str(Path(__file__).parent))

from export_helpers import SmallRun, build_small_run  # noqa: E402

FUNNEL_ORDER = ["decode", "resolution", "mosaic", "dedup", "aesthetic", "caption"]


@pytest.fixture(scope="session")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> SmallRun:
    """A finished run with the funnel and statistics reports the job writes at its end.
    Shared and read-only: tests that damage a run build their own."""
    from filters.funnel import write_funnel_report
    from stats.report import write_run_report

    run = build_small_run(tmp_path_factory.mktemp("export-run") / "run")
    write_funnel_report(run.root, FUNNEL_ORDER)
    write_run_report(run.root)
    return run
