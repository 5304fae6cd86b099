"""A real multi-node Ray cluster on one machine (Ray's own ``ray.cluster_utils.Cluster``)
and a small recaption job to run on it, for the fault-tolerance tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import psutil

from paraimage.manifest_reader import run_sql

REPO_ROOT = Path(__file__).resolve().parents[2]
# identity, verdicts and the caption itself (greedy sampling): what a run must reproduce
COMPARED = ("id", "source", "source_key", "shard_id", "status", "reject_reason", "error",
            "sha256", "width", "height", "caption", "caption_raw", "caption_n_tokens")
WORKER_CPUS = 2


def job_yaml(path: Path, out: Path, photos: Path, model: Path) -> Path:
    """15 records (6 photos, 9 edge cases), one per shard, captioned one at a time
    by the tiny llava through transformers, so a run lasts long enough to be hit."""
    config = {
        "run": {"name": "faults", "output_dir": str(out)},
        "sources": [{"kind": "sample_photos", "cache_dir": str(photos), "shard_size": 1,
                     "include_edge_cases": True}],
        "filters": {"resolution": {"min_short_edge": 128},
                    "mosaic": {"mode": "score_only"}, "dedup": {"max_hamming": 6}},
        "captioner": {"backend": "transformers", "model": str(model), "target_words": 60,
                      "dtype": "float32", "device": "cpu", "batch_size": 1,
                      "num_gpus": 0, "num_cpus": 1, "sampling": {"temperature": 0.0}},
        "stats": {"enabled": False},
        "ray": {"cpu_stage_num_cpus": 0.25, "cpu_batch_size": 1},
    }
    path.write_text(json.dumps(config))  # JSON is YAML
    return path


def job_env() -> dict[str, str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "RAY_DISABLE_USAGE_STATS": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("RAY_ADDRESS", None)
    return env


def recaption_command(config: Path, *extra: str) -> list[str]:
    return [sys.executable, "workflows/recaption.py", "--config", str(config), *extra]


def manifest_rows(run_dir: Path) -> list[tuple]:
    """The run's rows as every reader sees them (run-level decisions included)."""
    con = duckdb.connect()
    rows = con.sql(f"SELECT * FROM ({run_sql(con, run_dir)})").to_arrow_table().to_pylist()
    return sorted(tuple(row[column] for column in COMPARED) for row in rows)


def wait_for_manifests(run_dir: Path, at_least: int, process: Any, timeout_s: float) -> int:
    """Until ``at_least`` manifests exist (the run is part-way); their number."""
    deadline = time.monotonic() + timeout_s
    manifests = run_dir / "manifests"
    while time.monotonic() < deadline:
        done = len(list(manifests.glob("*.parquet"))) if manifests.is_dir() else 0
        if done >= at_least:
            return done
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the run ended (rc {process.returncode}) before it was hit")
        time.sleep(0.1)
    raise AssertionError(f"fewer than {at_least} manifests after {timeout_s} s")


def node_running(cluster: Any, marker: str) -> Any:
    """The worker node whose raylet runs a process with ``marker`` in its title (the
    caption actor is ``ray::MapWorker(MapBatches(...))``)."""
    for node in cluster.worker_nodes:
        raylet = psutil.Process(node.all_processes["raylet"][0].process.pid)
        for child in raylet.children(recursive=True):
            try:
                if marker in " ".join(child.cmdline()):
                    return node
            except psutil.Error:
                continue
    raise AssertionError(f"no worker node runs {marker!r}")


def run_to_end(command: list[str], env: dict[str, str], timeout_s: float
               ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout_s)


# -- a generated run of many shards, for the driver-memory bound ---------------------

def write_tiny_tars(folder: Path, n_tars: int, per_tar: int) -> list[Path]:
    """Webdataset tars of distinct 16x16 JPEGs."""
    import io
    import tarfile

    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    tars = []
    for index in range(n_tars):
        path = folder / f"part-{index:04d}.tar"
        with tarfile.open(path, "w") as tar:
            for row in range(per_tar):
                buffer = io.BytesIO()
                pixels = rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(buffer, "JPEG")
                info = tarfile.TarInfo(f"{row:05d}.jpg")
                info.size = buffer.tell()
                buffer.seek(0)
                tar.addfile(info, buffer)
        tars.append(path)
    return tars

