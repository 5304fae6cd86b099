from __future__ import annotations

import json
from pathlib import Path

import pytest
from runview_helpers import T0, build_run, iso, row

from workflows.cli import main
from workflows.runview.status import run_status
from workflows.runview.status_text import format_status


def finished_run(root: Path) -> Path:
    s0 = [
        row("photos", "a", "s0", caption="x", caption_model="m", caption_flags=["truncated"]),
        row("photos", "b", "s0", caption="y", caption_model="m",
            caption_flags=["truncated", "repetitive"]),
        row("photos", "c", "s0", "rejected", reject_reason="resolution_short_edge"),
        row("photos", "d", "s0", "error", error="decode_corrupt: bad bytes"),
    ]
    s1 = [
        row("photos", "e", "s1", caption="z", caption_model="m", caption_flags=[]),
        row("photos", "f", "s1", "rejected", reject_reason="resolution_short_edge"),
        row("photos", "g", "s1", "rejected", reject_reason="aesthetic_low_score"),
        row("photos", "h", "s1", "error", error="download_http_404: HTTP Error 404"),
    ]
    s2 = [
        row("photos", "i", "s2", caption="w", caption_model="m", caption_flags=["truncated"]),
        row("photos", "j", "s2", caption="v", caption_model="m", caption_flags=[]),
    ]
    build_run(
        root, {"s0": (s0, T0 + 20), "s1": (s1, T0 + 40), "s2": (s2, T0 + 50)},
        invocations=[{
            "started": iso(T0), "ended": iso(T0 + 60), "outcome": "completed",
            "argv": ["recaption.py"],
            "summary": {"rows_this_invocation": 10, "seconds_this_invocation": 50.0},
        }],
    )
    return root


def killed_run(root: Path, invocations: list[dict]) -> Path:
    s0 = [row("s", f"a{i}", "s0") for i in range(3)]
    s0.append(row("s", "a3", "s0", "error", error="decode_empty_file: 0 bytes"))
    s1 = [row("s", f"b{i}", "s1") for i in range(4)]
    build_run(root, {"s0": (s0, T0 + 20), "s1": (s1, T0 + 40)},
              planned={"s2": 4, "s3": 4, "s4": 4}, being_written=("s2",),
              invocations=invocations)
    return root


def test_finished_run_counts(tmp_path: Path) -> None:
    status = run_status(finished_run(tmp_path / "run"), now=T0 + 3600)
    assert status.state == "finished"
    assert (status.shards_planned, status.shards_complete, status.shards_in_progress,
            status.shards_to_do) == (3, 3, 0, 0)
    assert (status.rows_planned, status.rows_written) == (10, 10)
    assert status.by_status == {"kept": 5, "rejected": 3, "error": 2}
    assert status.reject_reasons == {"resolution_short_edge": 2, "aesthetic_low_score": 1}
    assert status.error_kinds == {"decode_corrupt": 1, "download_http_404": 1}
    assert status.caption_flags == {"truncated": 3, "repetitive": 1}
    assert status.captioned == 5
    assert [slot["rows"] for slot in status.timeline] == [0, 0, 0, 0, 4, 0, 0, 0, 4, 2]
    assert status.timeline[4]["images_per_s"] == 0.8
    assert status.average_images_per_s == 0.2
    assert status.eta is None
    assert status.estimate is None and status.estimate_vs_actual == []
    [invocation] = status.invocations
    assert (invocation.outcome, invocation.rows, invocation.seconds) == ("completed", 10, 50.0)


def test_killed_run_exact_text(tmp_path: Path) -> None:
    root = killed_run(tmp_path / "run", [
        {"started": iso(T0), "ended": None, "outcome": "running", "argv": ["x"]},
    ])
    status = run_status(root, now=T0 + 100)
    assert format_status(status) == f"""\
run run-test in {root}: running (its end is not recorded: still running, or killed)
shards: 2 complete, 1 in progress, 2 to do, of 5 planned
  in progress: s2
rows: 8 of 20 planned written (40.0%)
status:
         7  kept
         1  error
top error kinds:
         1  decode_empty_file
throughput (rows of complete manifests, by file time):
  20:26:40-20:26:50        0 rows      0.00/s  
  20:26:50-20:27:00        0 rows      0.00/s  
  20:27:00-20:27:10        4 rows      0.40/s  ##############################
  20:27:10-20:27:20        0 rows      0.00/s  
  20:27:20-20:27:30        4 rows      0.40/s  ##############################
  20:27:30-20:27:40        0 rows      0.00/s  
  20:27:40-20:27:50        0 rows      0.00/s  
  20:27:50-20:28:00        0 rows      0.00/s  
  20:28:00-20:28:10        0 rows      0.00/s  
  20:28:10-20:28:20        0 rows      0.00/s  
average: 0.08 images/s over the invocations
ETA: 2 min 30 s (12 rows left at 0.08 images/s), at {iso(T0 + 250)}
invocations:
  1. {iso(T0)} -> -  running: 8 rows in 1 min 40 s (0.08 images/s)
estimate: none (estimate.json not in the run directory)"""


def test_killed_then_resumed_run(tmp_path: Path) -> None:
    root = killed_run(tmp_path / "run", [
        {"started": iso(T0), "ended": None, "outcome": "interrupted"},
        {"started": iso(T0 + 200), "ended": None, "outcome": "running"},
    ])
    status = run_status(root, now=T0 + 230)
    assert status.state == "running"
    first, second = status.invocations
    # killed: it lasted at least until its last manifest (T0 + 40)
    assert (first.outcome, first.rows, first.seconds, first.images_per_s) == (
        "interrupted", 8, 40.0, 0.2)
    assert (second.outcome, second.rows, second.seconds) == ("running", 0, 30.0)
    assert status.eta == {"remaining_rows": 12, "images_per_s": 0.0, "seconds": None,
                          "at": None}
    assert "ETA: unknown (12 rows left; no shard written by this invocation yet)" in (
        format_status(status))


def test_estimate_beside_actual(tmp_path: Path) -> None:
    root = finished_run(tmp_path / "run")
    # the fields of `paraimage estimate`'s estimate.json that a run is held against
    (root / "estimate.json").write_text(json.dumps({
        "fingerprint": "f", "images_asked": 4, "seed": 0, "planned_inputs": 10,
        "sampled_inputs": 4, "statuses": {"kept": 2, "rejected": 1, "error": 1},
        "reasons": {}, "start_up_seconds": 5.0, "stages": [], "captioners": [],
        "notes": [], "bottleneck": "caption", "projected_seconds": 40.0, "gpus": 1.0,
        "gpu_hours": 40.0 / 3600,
    }))
    status = run_status(root, now=T0 + 3600)
    assert status.estimate["bottleneck"] == "caption"
    assert status.estimate_vs_actual == [
        {"field": "rows", "estimate": 10.0, "actual": 10, "actual_over_estimate": 1.0},
        {"field": "seconds", "estimate": 40.0, "actual": 50.0, "actual_over_estimate": 1.25},
        {"field": "images_per_s", "estimate": 0.25, "actual": 0.2,
         "actual_over_estimate": 0.8},
        {"field": "gpu_hours", "estimate": 0.0111, "actual": 0.0139,
         "actual_over_estimate": 1.25},
        {"field": "kept_share", "estimate": 0.5, "actual": 0.5, "actual_over_estimate": 1.0},
        {"field": "rejected_share", "estimate": 0.25, "actual": 0.3,
         "actual_over_estimate": 1.2},
        {"field": "error_share", "estimate": 0.25, "actual": 0.2,
         "actual_over_estimate": 0.8},
    ]
    assert format_status(status).endswith(
        "estimate vs actual:\n"
        "  rows: estimate 10, actual 10 (x1)\n"
        "  seconds: estimate 40, actual 50 (x1.25)\n"
        "  images_per_s: estimate 0.25, actual 0.2 (x0.8)\n"
        "  gpu_hours: estimate 0.0111, actual 0.0139 (x1.25)\n"
        "  kept_share: estimate 0.5, actual 0.5 (x1)\n"
        "  rejected_share: estimate 0.25, actual 0.3 (x1.2)\n"
        "  error_share: estimate 0.25, actual 0.2 (x0.8)"
    )


def test_cli_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = finished_run(tmp_path / "run")
    assert main(["status", str(root), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["state"] == "finished"
    assert data["by_status"] == {"kept": 5, "rejected": 3, "error": 2}
    assert data["invocations"][0]["rows"] == 10


def test_cli_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = finished_run(tmp_path / "run")
    assert main(["status", str(root)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"run run-test in {root}: finished\n"
                          "shards: 3 complete, 0 in progress, 0 to do, of 3 planned\n")


def test_cli_not_a_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        f"error: {tmp_path} is not a run directory (no plan.json, no manifests/)\n")


def test_cli_damaged_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = finished_run(tmp_path / "run")
    (root / "plan.json").write_text("{")
    assert main(["status", str(root)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {root / 'plan.json'} is damaged")
