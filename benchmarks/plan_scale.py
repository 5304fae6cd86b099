"""Planning LAION-scale metadata: 10M rows in 100 Parquet files, in bounded memory.

Generates ``--files`` LAION-Aesthetics-style Parquet files (URL, TEXT, WIDTH, HEIGHT,
AESTHETIC_SCORE, punsafe, pwatermark) of ``--rows-per-file`` rows each, then, each in
a fresh process (peak RSS from ``ru_maxrss``):

1. ``plan``: ``UrlTextSource.plan()`` as the job's first invocation runs it: every
   file read in batches, normalised, written as one row group per shard;
2. ``replan``: the same call again, as a resumed job's source would (the normalised
   files exist: the metadata is not read again; the job itself reads ``plan.json``
   and does not call the source at all);
3. ``bare``: the reference, ``pyarrow`` reading every file's columns in batches and
   doing nothing with them: the least any planner must do.

Memory is measured at two sizes (``--files`` and a tenth of it) to show it does not
grow with the number of rows.

    .venv/bin/python benchmarks/plan_scale.py [--files 100] [--rows-per-file 100000]

Last line: ``RATIO plan_vs_bare_read=<x>`` (bare read time over planning time; the
cost of normalising and writing on top of reading).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

REPO_ROOT = Path(__file__).resolve().parents[1]

MEASURE = """
import json, resource, sys, time
sys.path.insert(0, {repo!r})
from pathlib import Path
mode, work = sys.argv[1], Path(sys.argv[2])
n_files, rows_per_shard = int(sys.argv[3]), int(sys.argv[4])
files = sorted((work / "metadata").glob("*.parquet"))[:n_files]
started = time.perf_counter()
if mode == "bare":
    import pyarrow.parquet as pq
    rows = 0
    for path in files:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=65536):
            rows += batch.num_rows
    shards = None
else:
    from curation.url_text import UrlTextSource, UrlTextSourceConfig
    config = UrlTextSourceConfig.model_validate({{
        "kind": "laion", "metadata": [str(p) for p in files],
        "rows_per_shard": rows_per_shard, "download_dir": str(work / f"downloads-{{n_files}}"),
    }})
    plan = UrlTextSource(config).plan()
    rows, shards = sum(s.n_records for s in plan), len(plan)
print(json.dumps({{"seconds": time.perf_counter() - started, "rows": rows, "shards": shards,
                  "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}}))
"""


def make_metadata(folder: Path, n_files: int, rows_per_file: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(n_files):
        path = folder / f"part-{index:05d}.parquet"
        if path.exists():
            continue
        rng = np.random.default_rng(index)
        first = index * rows_per_file
        ids = np.arange(first, first + rows_per_file)
        table = pa.table({
            "URL": pa.array([f"https://images.example.com/{i:010d}/photo.jpg" for i in ids]),
            "TEXT": pa.array([f"a photo of thing number {i} in a sunny garden" for i in ids]),
            "WIDTH": rng.integers(256, 2048, rows_per_file).astype(np.float64),
            "HEIGHT": rng.integers(256, 2048, rows_per_file).astype(np.float64),
            "AESTHETIC_SCORE": rng.uniform(4, 8, rows_per_file),
            "punsafe": rng.uniform(0, 1, rows_per_file),
            "pwatermark": rng.uniform(0, 1, rows_per_file),
        })
        tmp = path.with_suffix(".tmp")
        pq.write_table(table, tmp, compression="snappy")
        tmp.rename(path)


def measure(mode: str, work: Path, n_files: int, rows_per_shard: int) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", MEASURE.format(repo=str(REPO_ROOT)), mode, str(work),
         str(n_files), str(rows_per_shard)],
        capture_output=True, text=True, check=True, cwd=REPO_ROOT,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--rows-per-file", type=int, default=100_000)
    parser.add_argument("--rows-per-shard", type=int, default=10_000)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "pi-plan")
    args = parser.parse_args()
    started = time.perf_counter()
    make_metadata(args.work / "metadata", args.files, args.rows_per_file)
    print(f"metadata: {args.files} files x {args.rows_per_file} rows "
          f"({time.perf_counter() - started:.0f} s to generate)", flush=True)
    ratios = []
    for n_files in (max(1, args.files // 10), args.files):
        for stale in (args.work / f"downloads-{n_files}").glob("**/*.parquet"):
            stale.unlink()
        bare = measure("bare", args.work, n_files, args.rows_per_shard)
        plan = measure("plan", args.work, n_files, args.rows_per_shard)
        replan = measure("replan", args.work, n_files, args.rows_per_shard)
        print(f"{plan['rows']:>10} rows, {plan['shards']} shards: plan {plan['seconds']:.1f} s "
              f"({plan['rows'] / plan['seconds']:,.0f} rows/s), peak RSS "
              f"{plan['peak_rss'] / 2**20:.0f} MiB; replan {replan['seconds']:.2f} s, "
              f"{replan['peak_rss'] / 2**20:.0f} MiB; bare read {bare['seconds']:.1f} s, "
              f"{bare['peak_rss'] / 2**20:.0f} MiB", flush=True)
        ratios.append(bare["seconds"] / plan["seconds"])
    print(f"RATIO plan_vs_bare_read={ratios[-1]:.3f}")


if __name__ == "__main__":
    main()
