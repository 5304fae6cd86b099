"""The run-level steps' memory and time at 100k and 1M rows: do they stay bounded?

After the shards, the job's driver runs dedup over every manifest, the funnel report,
the statistics report (from the per-shard rollups the job writes as shards land) and
the summary. This script generates the manifests of a run (1000 rows a shard: unique
ids and hashes with 0.1 % exact and 0.1 % near duplicates, paragraph captions of ~150
words, their nouns, 5 % of rows rejected), writes their rollups as the job does, and
runs each step in a fresh process, sampling its private memory (RSS less shared pages)
every 20 ms. Generating 1M rows takes a few minutes; they are kept under ``--work``.

The bare reference for dedup is reading the three columns it needs (id, sha256,
phash) of every manifest into Arrow with pyarrow: no dedup can hold less than its
input. Last line: ``RATIO dedup_memory_vs_bare_read=<x>`` (dedup's peak above its
process's imports over the bare read's, at the largest size; lower is better).

    .venv/bin/python benchmarks/run_level_memory.py [--sizes 100000,1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
STEPS = ("bare read", "dedup", "funnel", "statistics report", "summary")
WORDS = ["a", "weathered", "wooden", "fence", "runs", "along", "the", "edge", "of",
         "a", "green", "field", "under", "a", "pale", "sky", "while", "two", "horses",
         "graze", "near", "an", "old", "stone", "barn", "with", "a", "red", "door",
         "and", "a", "rusty", "tractor", "parked", "beside", "tall", "grass"]
NOUNS = ["fence", "edge", "field", "sky", "horse", "barn", "door", "tractor", "grass"]

STEP_CODE = """
import json, sys, threading, time
sys.path.insert(0, {repo!r})
from pathlib import Path
import psutil
me = psutil.Process()
def private():
    info = me.memory_info()
    return info.rss - info.shared
peak = [0]
def sample():
    while True:
        peak[0] = max(peak[0], private())
        time.sleep(0.02)
import pyarrow.parquet as pq
from filters import write_funnel_report
from filters.dedup_apply import apply_dedup
from paraimage.manifest_reader import manifest_files
from paraimage.summary import summarize
from stats.report import write_run_report
run_dir, step = Path(sys.argv[1]), sys.argv[2]
steps = {{
    "bare read": lambda: pq.ParquetDataset(manifest_files(run_dir)).read(
        columns=["id", "sha256", "phash"]),
    "dedup": lambda: apply_dedup(run_dir, 4),
    "funnel": lambda: write_funnel_report(run_dir, ["resolution", "dedup"]),
    "statistics report": lambda: write_run_report(run_dir),
    "summary": lambda: summarize(manifest_files(run_dir)),
}}
time.sleep(0.1)
base = private()
peak[0] = base
threading.Thread(target=sample, daemon=True).start()
started = time.perf_counter()
result = steps[step]()
seconds = time.perf_counter() - started
time.sleep(0.05)
print("MEASURED " + json.dumps({{"seconds": seconds, "base": base, "peak": peak[0]}}))
"""


def make_manifests(run_dir: Path, n_shards: int, rows_per_shard: int) -> None:
    """``n_shards`` manifests and their rollups under ``run_dir`` (kept if present)."""
    folder = run_dir / "manifests"
    folder.mkdir(parents=True, exist_ok=True)
    missing = [i for i in range(n_shards) if not (folder / f"shard-{i:05d}.parquet").exists()]
    if missing:
        print(f"generating {len(missing)} manifests of {rows_per_shard} rows ...", flush=True)
        with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            list(pool.map(partial(_make_manifest, folder, rows_per_shard), missing,
                          chunksize=8))
    from stats.rollups import write_rollups

    write_rollups(run_dir, sorted(folder.glob("*.parquet")))


def _make_manifest(folder: Path, rows_per_shard: int, index: int) -> None:
    import pyarrow as pa

    from paraimage.manifest import MANIFEST_SCHEMA, SCHEMA_VERSION
    from paraimage.shard_writer import write_manifest_table

    rng = np.random.default_rng(index)
    n = rows_per_shard
    shard = f"shard-{index:05d}"
    sha = [f"{x:016x}" * 4 for x in rng.integers(0, 2**63, n)]
    phash = rng.integers(0, 2**63, n, dtype=np.int64).astype(np.uint64)
    # 0.1 % exact duplicates and 0.1 % near ones (two bits off) of an earlier row
    for row in rng.choice(np.arange(1, n), size=max(1, n // 500), replace=False):
        source = int(rng.integers(0, row))
        if row % 2:
            sha[row] = sha[source]
        else:
            phash[row] = phash[source] ^ np.uint64(0b101)
    status = np.where(rng.random(n) < 0.05, "rejected", "kept")
    captions = [" ".join(rng.choice(WORDS, size=int(rng.integers(120, 180))))
                for _ in range(n)]
    columns = {
        "id": [f"{shard}-{row:06d}" for row in range(n)],
        "source": ["webdataset"] * n,
        "source_key": [f"part-{index:05d}.tar/{row:06d}" for row in range(n)],
        "shard_id": [shard] * n,
        "sha256": sha,
        "phash": [f"{int(h):016x}" for h in phash],
        "run_id": ["scale"] * n,
        "schema_version": [SCHEMA_VERSION] * n,
        "status": status.tolist(),
        "reject_reason": [None if s == "kept" else "resolution_short_edge" for s in status],
        "caption": [c if s == "kept" else None for c, s in zip(captions, status, strict=True)],
        "n_words": [len(c.split()) if s == "kept" else None
                    for c, s in zip(captions, status, strict=True)],
        "nouns": [NOUNS * 3 if s == "kept" else None for s in status],
    }
    arrays = [pa.array(columns[f.name], f.type) if f.name in columns
              else pa.nulls(n, f.type) for f in MANIFEST_SCHEMA]
    write_manifest_table(folder / f"{shard}.parquet",
                         pa.Table.from_arrays(arrays, schema=MANIFEST_SCHEMA))


def run_step(run_dir: Path, step: str, code: Path) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, "-c", STEP_CODE.format(repo=str(code)), str(run_dir), step],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=3600)
    if result.returncode != 0:
        raise SystemExit(f"{step} failed:\n{result.stderr[-3000:]}")
    # a step may draw on stdout too (DuckDB's progress bar): our line is marked
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("MEASURED ")]
    return json.loads(line.removeprefix("MEASURED "))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--rows-per-shard", type=int, default=1000)
    parser.add_argument("--work", type=Path,
                        default=Path(tempfile.gettempdir()) / "pi-run-level")
    parser.add_argument("--steps", default=",".join(STEPS),
                        help=f"which of: {', '.join(STEPS)}")
    parser.add_argument("--code", type=Path, default=REPO_ROOT,
                        help="the checkout whose steps run (a git worktree of another "
                             "commit, to compare on the same manifests)")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    above: dict[tuple[int, str], float] = {}
    print("| rows | step | seconds | peak private above imports (MiB) |")
    print("|---|---|---|---|")
    for size in sizes:
        run_dir = args.work / f"run-{size}"
        make_manifests(run_dir, size // args.rows_per_shard, args.rows_per_shard)
        for step in args.steps.split(","):
            measured = run_step(run_dir, step, args.code)
            above[size, step] = (measured["peak"] - measured["base"]) / 2**20
            print(f"| {size} | {step} | {measured['seconds']:.1f} | "
                  f"{above[size, step]:.0f} |", flush=True)
    largest = sizes[-1]
    if (largest, "dedup") in above and (largest, "bare read") in above:
        ratio = above[largest, "dedup"] / max(above[largest, "bare read"], 1.0)
        print(f"RATIO dedup_memory_vs_bare_read={ratio:.2f}")


if __name__ == "__main__":
    main()
