"""Does the driver's memory grow with the rows? Our driver loop, piece by piece.

The whole job's driver grew by ~250 MiB of private memory from 10k to 300k rows during
the shards (``pipeline_scale.py``, per-phase peaks), while its collector held under
1 MiB. This script runs the driver's loop (``build_dataset`` -> ``iter_output_batches``
-> ``ShardCollector``) on the same generated tars at two sizes, each in a fresh
process, adding one piece of the job at a time, so a variant whose peak grows with the
rows names the piece that grows:

* ``loop``: the probe stage and the collector (the bare reference);
* ``rollups``: plus the per-shard statistics rollup the job writes as each shard lands;
* ``actors``: plus two actor-pool stages that pass batches through;
* ``captions``: plus an actor stage that writes a paragraph caption and nouns per row.

    .venv/bin/python benchmarks/driver_loop_memory.py [--sizes 20000,200000]

Each line gives the private peak (RSS less shared pages, sampled every 0.5 s); the
last line is ``RATIO driver_private_growth=<x>``: the largest size's peak over the
smallest's for the bare loop (1.0 is flat). Measured 2026-12-04 on 2 idle cores: loop
138 -> 141 MiB, rollups 160 -> 165, actors 143 -> 148, captions 156 -> 166 (20k ->
200k rows): flat or nearly, so the job's growth lies in a piece not yet here (the async
vLLM actor, the statistics actor's columns, the console, ``RecoveringCollector``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
VARIANTS = ("loop", "rollups", "actors", "captions")
# a paragraph-long caption and its nouns, as the job's rows carry them (~1 KB a row)
CAPTION = " ".join(["a long weathered wooden fence runs along the edge of a field"] * 15)
NOUNS = ["fence", "edge", "field"] * 15


class PassThrough:
    """An actor-pool stage that hands its batch on."""

    def __call__(self, batch: Any) -> Any:
        return batch


class Captions:
    """An actor-pool stage that writes a caption and its nouns into every row."""

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa

        n = batch.num_rows
        batch = batch.set_column(batch.schema.get_field_index("caption"), "caption",
                                 pa.array([CAPTION] * n))
        return batch.set_column(batch.schema.get_field_index("nouns"), "nouns",
                                pa.array([NOUNS] * n, pa.list_(pa.string())))


def run_variant(variant: str, tars: list[Path], work: Path) -> dict[str, float]:
    """The driver loop of ``variant`` over ``tars`` in this process; its private peak."""
    import ray
    import ray.data

    from curation.probe import DEFAULT_MAX_PIXELS, ProbeStage
    from curation.webdataset import WebDatasetSource, WebDatasetSourceConfig
    from paraimage.engine import ActorStage, CpuStage, build_dataset, iter_output_batches
    from paraimage.shard_writer import ShardCollector
    from stats.rollups import write_rollups

    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    source = WebDatasetSource(WebDatasetSourceConfig(kind="webdataset",
                                                     paths=[str(t) for t in tars]))
    shards = source.plan()
    stages: list[Any] = [CpuStage("probe", ProbeStage(DEFAULT_MAX_PIXELS), num_cpus=0.5,
                             batch_size=256)]
    if variant == "captions":
        stages += [ActorStage("captions", Captions, num_cpus=0.5, batch_size=256)]
    if variant == "actors":
        stages += [ActorStage("same", PassThrough, num_cpus=0.5, batch_size=256),
                   ActorStage("same2", PassThrough, num_cpus=0.25, batch_size=256)]
    shutil.rmtree(work, ignore_errors=True)
    (work / "manifests").mkdir(parents=True)

    def rollup(spec: Any, _table: Any) -> None:
        write_rollups(work, [work / "manifests" / f"{spec.shard_id}.parquet"])

    collector = ShardCollector(shards, lambda shard: work / "manifests" / f"{shard}.parquet",
                               on_written=rollup if variant == "rollups" else None,
                               spill_dir=work / "spill")
    me, peak = psutil.Process(), [0]

    def sample() -> None:
        while True:
            info = me.memory_info()
            peak[0] = max(peak[0], info.rss - info.shared)
            time.sleep(0.5)

    threading.Thread(target=sample, daemon=True).start()
    started = time.perf_counter()
    rows = 0
    for batch in iter_output_batches(build_dataset(shards, source, "r", stages, 0.5)):
        rows += batch.num_rows
        collector.add_batch(batch)
    collector.check_complete()
    return {"rows": rows, "seconds": time.perf_counter() - started,
            "private_mib": peak[0] / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20000,200000")
    parser.add_argument("--rows-per-shard", type=int, default=1000)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "pi-scale")
    parser.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--tars", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:  # one measurement, in its own process
        tars = sorted((args.work / "tars").glob("part-*.tar"))[:args.tars]
        print(json.dumps(run_variant(args.variant, tars, args.work / "driver-loop")))
        return
    from benchmarks.pipeline_scale import make_tars

    sizes = [int(size) for size in args.sizes.split(",")]
    make_tars(args.work / "tars", max(sizes) // args.rows_per_shard, args.rows_per_shard)
    peaks: dict[tuple[str, int], float] = {}
    for variant in VARIANTS:
        for size in sizes:
            result = subprocess.run(
                [sys.executable, __file__, "--variant", variant, "--work", str(args.work),
                 "--tars", str(size // args.rows_per_shard)],
                capture_output=True, text=True, check=True, cwd=REPO_ROOT)
            measured = json.loads(result.stdout.strip().splitlines()[-1])
            peaks[variant, size] = measured["private_mib"]
            print(f"{variant:8s} {measured['rows']:>9,} rows in {measured['seconds']:6.1f} s: "
                  f"driver private peak {measured['private_mib']:.0f} MiB", flush=True)
    print(f"RATIO driver_private_growth={peaks['loop', sizes[-1]] / peaks['loop', sizes[0]]:.3f}")


if __name__ == "__main__":
    main()
