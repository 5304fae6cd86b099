"""The whole recaption job at 10k, 100k and 1M inputs: does its cost per row stay flat?

Inputs are webdataset tars (one per shard, ``--rows-per-shard`` samples each) of
distinct 32x32 JPEGs, generated once under ``--work`` and reused by every size (a
size takes the first tars). Small images keep 1M rows feasible on 2 cores: decode,
filters and captioning cost per pixel, while everything this benchmark is about
(planning, the driver's collector, spilling, manifests, dedup over all manifests,
funnel, rollups, report) costs per row or per shard, whatever the image size.

The job is the real one, run as users run it (``workflows/recaption.py`` in a
subprocess, default quiet console): plan, decode, filters (resolution, mosaic
score-only, dedup), a real vLLM caption stage on the tiny random llava made nearly
free by ``max_tokens: 1``, the statistics actor (spaCy), manifests, rollups, funnel,
report. The driver's resident memory is sampled every 0.2 s (peak reported, overall and
per step: the shards, then each run-level step, dated by the line it prints); the time
per step comes from ``run.json`` (``timings_s``) and per stage from Ray Data's stats
(``RUN_DIR/logs/ray_data_stats.txt``).

``engine_vs_bare_ray_data`` runs the same read and CPU stages (probe, filters) both
ways on ``--bare-rows`` rows: through our engine (shard specs -> read -> stages -> the
driver's ShardCollector -> one manifest per shard) and as bare Ray Data
(``from_items -> flat_map(read) -> map_batches -> write_parquet``), and divides their
rows/s (ours / bare; goal >= 0.8).

    .venv/bin/python benchmarks/pipeline_scale.py [--sizes 10000,100000,1000000]

Per-row cost is the whole job's wall time over its rows, start-up included, as a user
pays it. Because start-up (Ray, the vLLM engine: ~20 s here) is paid once, the large
run's figure gains from it; so the marginal cost is printed too: the seconds each row
beyond the smaller run's added, from one size to the next (linear growth keeps it
flat). Last lines:
``RATIO scale_1m_vs_10k_per_row=<x>`` (per-row cost at the largest size over that at
the smallest; goal <= 1.2) and ``RATIO engine_vs_bare_ray_data=<x>``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import psutil
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))


def make_tars(folder: Path, n_tars: int, rows_per_shard: int, seed: int = 0) -> list[Path]:
    """``n_tars`` tars of distinct 32x32 JPEGs (a smooth random gradient plus noise,
    so perceptual hashes differ and dedup has real work); existing ones are kept."""
    folder.mkdir(parents=True, exist_ok=True)
    tars = [folder / f"part-{index:05d}.tar" for index in range(n_tars)]
    missing = [tar for tar in tars if not tar.exists()]
    if missing:
        print(f"generating {len(missing)} tars of {rows_per_shard} images ...", flush=True)
    # one process per core: a million JPEGs take minutes on one
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(partial(_make_tar, rows_per_shard=rows_per_shard, seed=seed), missing))
    return tars


def _make_tar(tar_path: Path, rows_per_shard: int, seed: int) -> None:
    """One tar of distinct JPEGs, seeded by its index."""
    yy, xx = np.mgrid[0:32, 0:32].astype(np.float32) / 31.0
    index = int(tar_path.stem.split("-")[1])
    rng = np.random.default_rng(seed * 1_000_003 + index)
    tmp = tar_path.with_suffix(".tar.tmp")
    with tarfile.open(tmp, "w") as tar:
        for row in range(rows_per_shard):
            a, b, c = rng.uniform(-1, 1, size=(3, 3))
            plane = (a[:, None, None] * xx + b[:, None, None] * yy + c[:, None, None])
            noise = rng.normal(0, 0.08, size=(3, 32, 32))
            pixels = np.clip((plane + noise) * 80 + 128, 0, 255).astype(np.uint8)
            buffer = io.BytesIO()
            Image.fromarray(np.moveaxis(pixels, 0, -1)).save(buffer, "JPEG", quality=90)
            info = tarfile.TarInfo(f"{row:06d}.jpg")
            info.size = buffer.tell()
            buffer.seek(0)
            tar.addfile(info, buffer)
    os.replace(tmp, tar_path)


def job_config(path: Path, out: Path, tars: Path, n_shards: int, model: Path) -> Path:
    config = {
        "run": {"name": "scale", "output_dir": str(out)},
        "sources": [{"kind": "webdataset", "paths": [str(tars / "part-*.tar")],
                     "limit": n_shards}],
        "filters": {"resolution": {"min_short_edge": 16},
                    "mosaic": {"mode": "score_only"}, "dedup": {"max_hamming": 4}},
        "captioner": {
            "backend": "vllm", "model": str(model), "target_words": 10,
            "sampling": {"temperature": 0.0, "max_tokens": 1},
            "batch_size": 64, "concurrency": 1, "num_gpus": 0, "num_cpus": 1,
            "engine_kwargs": {"dtype": "float32", "enforce_eager": True,
                              "max_model_len": 2048},
            "env": {"VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_ENABLE_V1_MULTIPROCESSING": "0"},
        },
        "stats": {"num_cpus": 0.5, "batch_size": 256},
        "ray": {"num_cpus": 2, "cpu_stage_num_cpus": 0.25, "cpu_batch_size": 256},
    }
    path.write_text(json.dumps(config))
    return path


def run_job(config: Path, env: dict[str, str], n_shards: int) -> dict[str, Any]:
    """The job in a subprocess; wall time, the driver's peak RSS overall and per step
    (the shards, then each run-level step), run.json's record."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "workflows/recaption.py", "--config", str(config)],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    # read the console as it comes: a pipe nobody reads fills (64 KiB, about an hour of
    # progress lines) and then blocks the job's next print; each line's arrival time
    # dates the end of the run-level step it reports
    output: list[tuple[float, str]] = []

    def read() -> None:
        for line in process.stdout or ():
            output.append((time.perf_counter(), line))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    run_dir = Path(json.loads(config.read_text())["run"]["output_dir"]) / "scale"
    driver = psutil.Process(process.pid)
    peak_rss = 0
    # RSS counts the object store's shared pages the driver has mapped (they grow up to
    # the store's size with the data read); private is the driver's own
    private: list[tuple[float, int]] = []
    while process.poll() is None:
        try:
            info = driver.memory_info()
        except psutil.Error:
            break
        peak_rss = max(peak_rss, info.rss)
        private.append((time.perf_counter(), info.rss - info.shared))
        time.sleep(0.05)
    process.wait()
    reader.join()
    wall = time.perf_counter() - started
    text = "".join(line for _, line in output)
    if process.returncode != 0:
        raise SystemExit(f"the job failed (rc {process.returncode}):\n{text[-5000:]}")
    record = json.loads((run_dir / "run.json").read_text())
    invocation = record["invocations"][-1]
    stats_file = run_dir / "logs" / "ray_data_stats.txt"
    return {"wall_s": wall, "peak_rss": peak_rss,
            "peak_private": max(value for _, value in private),
            "peak_private_by_step": peaks_by_step(private, output, invocation["timings_s"]),
            "invocation": invocation,
            "stage_s": stage_seconds(stats_file.read_text() if stats_file.exists() else ""),
            "output": text}


def peaks_by_step(private: list[tuple[float, int]], output: list[tuple[float, str]],
                  timings: dict[str, float]) -> dict[str, int]:
    """The private peak of each step: a run-level step ends when its line comes
    ("[paraimage] dedup: ...", the summary's "inputs: ...") and began its run.json
    seconds before; the shards (with planning and start-up) are everything before."""
    ends: dict[str, float] = {}
    for arrived, line in output:
        match = re.match(r"\[paraimage\] ([a-z ]+):", line)
        name = "summary" if line.startswith("inputs:") else match and match.group(1)
        if name in timings and name not in ("plan", "shards") and name not in ends:
            ends[name] = arrived
    windows = {name: (end - timings[name], end) for name, end in ends.items()}
    first_step = min((start for start, _ in windows.values()), default=float("inf"))
    windows = {"shards": (-float("inf"), first_step), **windows}
    return {name: max((value for t, value in private if start <= t <= end), default=0)
            for name, (start, end) in windows.items()}


def stage_seconds(stats: str) -> dict[str, float]:
    """Ray Data's wall time per operator ("Operator 3 MapBatches(ProbeStage): ... in 4.5s")."""
    found: dict[str, float] = {}
    for match in re.finditer(r"^Operator \d+ (.+?): .*? in ([\d.]+)s", stats, re.M):
        name = re.sub(r"MapBatches\((\w+)\)", r"\1", match.group(1))
        found[name[:60]] = float(match.group(2))
    return found


def bare_and_ours(tars: list[Path], n_rows_per_tar: int, work: Path) -> tuple[float, float]:
    """rows/s of our engine and of bare Ray Data over the same read and CPU stages."""
    import ray
    import ray.data

    from curation.base import ShardSpec
    from curation.probe import DEFAULT_MAX_PIXELS, ProbeStage
    from curation.webdataset import WebDatasetSource, WebDatasetSourceConfig
    from filters.stages import FilterChainStage
    from paraimage.batches import public_columns, rows_to_batch
    from paraimage.engine import CpuStage, build_dataset, iter_output_batches
    from paraimage.shard_writer import ShardCollector
    from workflows.config import FiltersConfig

    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             ignore_reinit_error=True)
    ray.data.DataContext.get_current().enable_progress_bars = False
    ray.data.DataContext.get_current().execution_options.preserve_order = False
    source = WebDatasetSource(WebDatasetSourceConfig(kind="webdataset",
                                                     paths=[str(t) for t in tars]))
    shards = source.plan()
    filters = FiltersConfig.model_validate(
        {"resolution": {"min_short_edge": 16}, "mosaic": {"mode": "score_only"}})
    chain = filters.cpu_chain()
    cpu = {"num_cpus": 0.5, "batch_size": 256}
    stages = [CpuStage("probe", ProbeStage(DEFAULT_MAX_PIXELS), **cpu),
              CpuStage("filters", FilterChainStage(chain, DEFAULT_MAX_PIXELS), **cpu)]

    def ours() -> float:
        out = work / "ours"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        started = time.perf_counter()
        collector = ShardCollector(shards, lambda s: out / f"{s}.parquet",
                                   spill_dir=out / "spill")
        for batch in iter_output_batches(build_dataset(shards, source, "r", stages, 0.5)):
            collector.add_batch(batch)
        collector.check_complete()
        return sum(s.n_records for s in shards) / (time.perf_counter() - started)

    def bare() -> float:
        out = work / "bare"
        shutil.rmtree(out, ignore_errors=True)
        started = time.perf_counter()

        def read(item: dict[str, Any]):
            yield from source.read(ShardSpec.from_dict(item["shard"]), "r")

        def public(batch):
            return rows_to_batch([public_columns(r) for r in batch.to_pylist()])

        dataset = ray.data.from_items([{"shard": s.to_dict()} for s in shards],
                                      override_num_blocks=len(shards))
        dataset = dataset.flat_map(read, num_cpus=0.5)
        for stage in stages:
            dataset = dataset.map_batches(stage.fn, batch_format="pyarrow", batch_size=256,
                                          num_cpus=0.5)
        dataset.map_batches(public, batch_format="pyarrow", num_cpus=0.5).write_parquet(
            str(out))
        return sum(s.n_records for s in shards) / (time.perf_counter() - started)

    ratios = []
    for _ in range(3):
        ours_rate, bare_rate = ours(), bare()
        print(f"  engine: ours {ours_rate:.0f} rows/s, bare Ray Data {bare_rate:.0f} rows/s",
              flush=True)
        ratios.append(ours_rate / bare_rate)
    ray.shutdown()
    return statistics.median(ratios), 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--rows-per-shard", type=int, default=1000)
    parser.add_argument("--bare-rows", type=int, default=20000)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "pi-scale")
    parser.add_argument("--skip-bare", action="store_true")
    parser.add_argument("--keep-manifests", action="store_true",
                        help="keep each run's manifests (to profile the run-level steps)")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    tars = make_tars(args.work / "tars", max(sizes) // args.rows_per_shard,
                     args.rows_per_shard)

    from captioners.tiny_llava import build_tiny_llava

    model = build_tiny_llava(args.work / "tiny-llava")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "RAY_DISABLE_USAGE_STATS": "1"}
    env.pop("RAY_ADDRESS", None)
    results = {}
    for size in sizes:
        out = args.work / f"run-{size}"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        config = job_config(out / "job.json", out, args.work / "tars",
                            size // args.rows_per_shard, model)
        print(f"== {size} rows ({size // args.rows_per_shard} shards)", flush=True)
        result = run_job(config, env, size // args.rows_per_shard)
        timings = result["invocation"]["timings_s"]
        recovered = result["invocation"]["recovered"]
        results[size] = result
        print(f"  {size / result['wall_s']:.1f} rows/s over {result['wall_s']:.0f} s wall; "
              f"driver peak RSS {result['peak_rss'] / 2**20:.0f} MiB "
              f"({result['peak_private'] / 2**20:.0f} MiB private); collector peak "
              f"{recovered.get('peak_buffered_bytes', 0) / 2**20:.1f} MiB, "
              f"{recovered.get('spill_files', 0)} spill files", flush=True)
        print("  driver peak private by step: " + ", ".join(
            f"{step} {peak / 2**20:.0f} MiB"
            for step, peak in result["peak_private_by_step"].items()))
        print(f"  per row {result['wall_s'] / size * 1e3:.3f} ms, start-up included")
        print("  steps (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
        print("  stages (s): " + ", ".join(f"{k} {v:.1f}" for k, v in result["stage_s"].items()))
        if not args.keep_manifests:
            shutil.rmtree(out / "scale" / "manifests", ignore_errors=True)  # keep the disk
    print("\n| rows | rows/s | driver peak RSS (private) | " + " | ".join(
        results[sizes[0]]["invocation"]["timings_s"]) + " |")
    for size, result in results.items():
        timings = result["invocation"]["timings_s"]
        print(f"| {size} | {size / result['wall_s']:.1f} | "
              f"{result['peak_rss'] / 2**20:.0f} ({result['peak_private'] / 2**20:.0f}) MiB | "
              + " | ".join(f"{timings.get(k, 0):.1f}" for k in
                           results[sizes[0]]["invocation"]["timings_s"]) + " |")
    smallest, largest = sizes[0], sizes[-1]
    per_row = {s: results[s]["wall_s"] / s for s in (smallest, largest)}
    scale_ratio = per_row[largest] / per_row[smallest]
    for low, high in zip(sizes, sizes[1:], strict=False):
        marginal = (results[high]["wall_s"] - results[low]["wall_s"]) / (high - low)
        print(f"marginal cost {low} -> {high}: {marginal * 1e3:.3f} ms per row")
    if not args.skip_bare:
        engine_ratio, _ = bare_and_ours(tars[: max(1, args.bare_rows // args.rows_per_shard)],
                                        args.rows_per_shard, args.work / "engine")
        print(f"RATIO engine_vs_bare_ray_data={engine_ratio:.3f}")
    print(f"RATIO scale_1m_vs_10k_per_row={scale_ratio:.3f}  "
          f"(per-row cost at {largest} over {smallest})")


if __name__ == "__main__":
    main()
