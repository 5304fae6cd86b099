"""A manifest far larger in memory than the memory the stats command may grow by.

The command runs in a subprocess, which reports its own peak RSS; the same command on a
run a fifth the size gives the baseline (interpreter, torch, spaCy, DuckDB, and the
buffers that fill once and then stay flat). Loading the manifest (or even its caption
column) at once would add the difference in in-memory size, several times the budget,
so the test fails unless extraction and tables both stream.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from stats_helpers import manifest_row

from paraimage.manifest import MANIFEST_SCHEMA, to_table

# 12,000 padded rows through the stats command, twice, in subprocesses
pytestmark = pytest.mark.slow

ROWS = 10_000
BASELINE_ROWS = 2_000
PAD_CHARS = 16_000  # whitespace: costs memory, not tagging time
ROW_GROUP_ROWS = 500
# The command may grow by at most this share of the caption column's in-memory size.
GROWTH_BUDGET_SHARE = 0.4

_MEASURE = """
import json, resource, sys
from workflows.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _caption(i: int) -> str:
    return f"A dog sits on mat number {i}." + " " * PAD_CHARS + "It sleeps."


def _write_run(run_dir: Path, rows: int) -> int:
    """Writes a manifest of ``rows`` padded captions; returns their in-memory bytes."""
    path = run_dir / "manifests" / "big-00000.parquet"
    path.parent.mkdir(parents=True)
    size = 0
    with pq.ParquetWriter(path, MANIFEST_SCHEMA) as writer:
        for start in range(0, rows, ROW_GROUP_ROWS):
            batch = [manifest_row("big", str(i), caption=_caption(i), caption_model="m")
                     for i in range(start, min(rows, start + ROW_GROUP_ROWS))]
            size += sum(len(r["caption"]) for r in batch)
            writer.write_table(to_table(batch))
    return size


def _peak_mb(run_dir: Path) -> float:
    argv = ["stats", str(run_dir), "--recompute", "always", "--batch-size", "64",
            "--memory-limit", "100MB"]
    done = subprocess.run([sys.executable, "-c", _MEASURE, *argv], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] == 0
    return result["peak_mb"]


def test_manifest_larger_than_the_memory_budget_streams(tmp_path: Path) -> None:
    small_size = _write_run(tmp_path / "small", BASELINE_ROWS)
    big_size = _write_run(tmp_path / "big", ROWS)
    assert big_size - small_size > 120 * 2**20  # the caption column alone, decoded
    baseline = _peak_mb(tmp_path / "small")
    peak = _peak_mb(tmp_path / "big")
    budget_mb = GROWTH_BUDGET_SHARE * (big_size - small_size) / 2**20
    print(f"baseline {baseline:.0f} MB, peak {peak:.0f} MB, budget +{budget_mb:.0f} MB")
    assert peak - baseline < budget_mb, (baseline, peak, budget_mb)
    # And the work was done: every caption got its statistics.
    stats = pq.read_table(tmp_path / "big" / "stats" / "text_stats",
                          columns=["n_words", "n_sentences"])
    assert stats.num_rows == ROWS
    assert set(stats.column("n_words").to_pylist()) == {9}
    assert set(stats.column("n_sentences").to_pylist()) == {2}
    summary = pq.read_table(tmp_path / "big" / "stats" / "summary.parquet").to_pylist()
    assert summary[0]["images"] == ROWS and summary[0]["mean_words"] == 9
