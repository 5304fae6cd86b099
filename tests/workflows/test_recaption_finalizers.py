"""The run-level steps the recaption job wires after its shards, without Ray: dedup
rejects only in mode ``on`` (by its decision table: the manifests stay as written),
and says what it did."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from paraimage.manifest import SCHEMA_VERSION, record_id, to_table
from paraimage.manifest_reader import run_sql
from paraimage.rundir import RunDir
from workflows.config import load_config
from workflows.recaption import build_finalizers

REPO_ROOT = Path(__file__).resolve().parents[2]


def row(shard_id: str, key: str, sha256: str) -> dict:
    return {"id": record_id("folder", key), "source": "folder", "source_key": key,
            "shard_id": shard_id, "run_id": "r", "schema_version": SCHEMA_VERSION, "status": "kept",
            "sha256": sha256}


@pytest.mark.parametrize(
    ("mode", "dedup_line", "statuses"),
    [
        ("score_only",
         "dedup (score_only): 1 duplicates found, none rejected (dedup/duplicates.parquet)",
         [("a.jpg", "kept", None), ("b.jpg", "kept", None)]),
        ("on", "dedup: 1 duplicates rejected (1 new)",
         [("a.jpg", "kept", None), ("b.jpg", "rejected", "dedup_exact")]),
    ],
)
def test_dedup_rejects_only_in_mode_on(
    tmp_path: Path, astronaut_jpeg: bytes, mode: str, dedup_line: str,
    statuses: list[tuple[str, str, str | None]],
) -> None:
    images = tmp_path / "images"
    images.mkdir()
    (images / "a.jpg").write_bytes(astronaut_jpeg)
    config = load_config(REPO_ROOT / "configs" / "demo.yaml", [
        f"run.output_dir={tmp_path / 'runs'}",
        f"sources=[{{kind: folder, path: '{images}'}}]",
        "stats.enabled=false",
        f"filters.dedup.mode={mode}",
    ])
    run_dir = RunDir(config.run.directory)
    run_dir.manifests.mkdir(parents=True)
    for shard_id, key in (("folder-00000", "a.jpg"), ("folder-00001", "b.jpg")):
        pq.write_table(to_table([row(shard_id, key, "same-bytes")]),
                       run_dir.manifest_path(shard_id))
    written = {path: path.read_bytes() for path in run_dir.manifest_files()}
    lines = [finalize(run_dir) for finalize in build_finalizers(config)]
    assert lines == [dedup_line, f"funnel report: {run_dir.root / 'funnel'}"]
    assert {path: path.read_bytes() for path in run_dir.manifest_files()} == written
    con = duckdb.connect()
    assert con.execute(f"SELECT source_key, status, reject_reason FROM "
                       f"({run_sql(con, run_dir.root)}) ORDER BY source_key"
                       ).fetchall() == statuses
    # the funnel report sees the decision too
    funnel = {r["filter"]: r["rejected"]
              for r in pq.read_table(run_dir.root / "funnel" / "funnel.parquet").to_pylist()}
    assert funnel["dedup"] == (1 if mode == "on" else 0)
    duplicates = pq.read_table(run_dir.root / "dedup" / "duplicates.parquet").to_pylist()
    assert duplicates == [{"id": record_id("folder", "b.jpg"),
                           "duplicate_of": record_id("folder", "a.jpg"), "dedup_kind": "exact"}]


def test_the_run_level_steps_get_ray_run_level_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import workflows.recaption as recaption

    seen: dict[str, str] = {}

    class Outcome:
        def describe(self) -> str:
            return "dedup: stand-in"

    def dedup(run_dir: Path, max_hamming: int, reject: bool, memory_limit: str) -> Outcome:
        seen["dedup"] = memory_limit
        return Outcome()

    def report(run_dir: Path, memory_limit: str) -> Path:
        seen["statistics report"] = memory_limit
        return run_dir / "stats" / "report.md"

    monkeypatch.setattr(recaption, "apply_dedup", dedup)
    monkeypatch.setattr(recaption, "write_run_report", report)
    monkeypatch.setattr(recaption, "write_funnel_report", lambda run_dir, order: run_dir)
    monkeypatch.setattr(recaption, "write_download_summary", lambda run_dir: None)
    config = load_config(REPO_ROOT / "configs" / "demo.yaml", [
        f"run.output_dir={tmp_path / 'runs'}", "ray.run_level_memory=96MiB"])
    for finalize in build_finalizers(config):
        finalize(RunDir(config.run.directory))
    assert seen == {"dedup": "96MiB", "statistics report": "96MiB"}
    default = load_config(REPO_ROOT / "configs" / "demo.yaml", [])
    assert int(default.ray.run_level_memory) == 512 * 2**20
