"""CPU stages: one decode per image (the fused probe+filters+prepare task) against the
three stages one after another, each decoding the image again (the previous wiring).

The stages are the job's own: ``build_stages`` of ``configs/paraimage_big.yaml``
(resolution 512, mosaic detection on SA-1B rows). The images are SA-1B-sized
(2250x1500) JPEGs of ``filters.mosaic_eval``'s clean photo families. Both paths run on
the same batches in the same run, alternating repeat by repeat so that load from other
processes falls on both alike; each figure is the median of ``--repeats`` runs, and
the two paths' output tables are checked to be equal. Three cases:

* ``sa1b``: the rows are SA-1B's, so the chain runs resolution and mosaic detection;
* ``laion``: the same images as LAION rows, which mosaic detection passes unscored
  (the chain is decode, resolution, caption image: what one decode saves shows most);
* ``aesthetic``: the SA-1B case with the aesthetic actor on, which splits the task
  (probe+filters, then prepare, which decodes again); the actor itself is not run,
  its cost is the same on both paths.

The ratio is rows/s with one decode over rows/s with three, from the process's CPU
time: the stages run in one thread here (as in a Ray task), and on a shared 2-core
machine wall time mostly measures the other processes (both are printed, and the
ratio by wall time too). Last line ``RATIO one_decode_vs_three=<sa1b>``.

    .venv/bin/python benchmarks/cpu_stages.py --images 4 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from captioners.model_source import ResolvedModel  # noqa: E402
from filters.mosaic_eval import generate  # noqa: E402
from paraimage.batches import Batch, rows_to_batch  # noqa: E402
from paraimage.engine import CpuStage  # noqa: E402
from paraimage.row_stage import RowChain, RowStage  # noqa: E402
from paraimage.source import IMAGE_BYTES  # noqa: E402
from workflows.config import load_config  # noqa: E402
from workflows.recaption import build_stages  # noqa: E402

FAMILIES = ("clean", "clean_held_out", "shallow_dof", "heavy_jpeg")
IMAGE_SIZE = 336  # the captioner's short edge (llava's 336 px tower)


def row_stages(stage: CpuStage) -> list[RowStage]:
    return list(stage.fn.stages) if isinstance(stage.fn, RowChain) else [stage.fn]


def paths(overrides: list[str]) -> tuple[Callable[[Batch], Batch], Callable[[Batch], Batch]]:
    """(one decode, three decodes) over the job's CPU stages for ``overrides``."""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "a.jpg").write_bytes(b"")  # the folder sources only need to exist
        # the rows say which source they are from; two folders stand in for the config's
        # LAION and SA-1B sources, under their names, which the mosaic filter's names
        sources = f"[{{kind: folder, path: {tmp}, name: laion}}, " \
                  f"{{kind: folder, path: {tmp}, name: sa1b}}]"
        config = load_config(REPO_ROOT / "configs" / "paraimage_big.yaml",
                             [f"run.output_dir={tmp}", f"sources={sources}", *overrides])
    stages = build_stages(config, ResolvedModel("m", "m"), IMAGE_SIZE)
    cpu = [stage for stage in stages if isinstance(stage, CpuStage)]
    print(f"  stages: {' -> '.join(stage.name for stage in stages)}")

    def fused(batch: Batch) -> Batch:
        for stage in cpu:
            batch = stage.fn(batch)
        return batch

    def separate(batch: Batch) -> Batch:
        for stage in cpu:
            for row_stage in row_stages(stage):
                batch = row_stage(batch)
        return batch

    return fused, separate


def batches(files: list[bytes], source: str, batch_size: int) -> list[Batch]:
    rows = [{"id": f"{source}-{i}", "source": source, "status": "kept", "error": None,
             "reject_reason": None, IMAGE_BYTES: data} for i, data in enumerate(files)]
    return [rows_to_batch(rows[i : i + batch_size]) for i in range(0, len(rows), batch_size)]


def seconds(
    fn: Callable[[Batch], Batch], inputs: list[Batch]
) -> tuple[tuple[float, float], list[Batch]]:
    """((CPU seconds, wall seconds), outputs) of ``fn`` over ``inputs``."""
    start, cpu_start = time.perf_counter(), time.process_time()
    out = [fn(batch) for batch in inputs]
    return (time.process_time() - cpu_start, time.perf_counter() - start), out


def bench(name: str, files: list[bytes], source: str, overrides: list[str],
          batch_size: int, repeats: int) -> float:
    print(f"{name}:")
    fused, separate = paths(overrides)
    inputs = batches(files, source, batch_size)
    _, want = seconds(separate, inputs)  # warm-up, and the rows both paths must give
    _, got = seconds(fused, inputs)
    if not all(a.equals(b) for a, b in zip(want, got, strict=True)):
        raise SystemExit(f"{name}: one decode gave other rows than three")
    kept = sum(b.column("status").to_pylist().count("kept") for b in got)
    times: dict[str, list[tuple[float, float]]] = {"one decode": [], "three decodes": []}
    for _ in range(repeats):
        times["three decodes"].append(seconds(separate, inputs)[0])
        times["one decode"].append(seconds(fused, inputs)[0])
    n = len(files)
    cpu = {path: n / statistics.median(c for c, _ in t) for path, t in times.items()}
    wall = {path: n / statistics.median(w for _, w in t) for path, t in times.items()}
    for path, rate in cpu.items():
        runs = ", ".join(f"{n / c:.2f}" for c, _ in times[path])
        print(f"  {path:<14}{rate:8.2f} rows/s of CPU time (runs: {runs}); "
              f"{wall[path]:.2f} rows/s of wall time")
    ratio = cpu["one decode"] / cpu["three decodes"]
    print(f"  {kept} of {n} rows kept; identical rows; ratio {ratio:.3f} "
          f"(by wall time {wall['one decode'] / wall['three decodes']:.3f})")
    return ratio


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=4, help="per photo family")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=8, help="the demo's cpu_batch_size")
    args = parser.parse_args(argv)
    files = [s.data for s in generate(args.images, 0, families=FAMILIES, sizes=("sa1b",))]
    print(f"{len(files)} JPEGs of 2250x1500 ({', '.join(FAMILIES)}), "
          f"{sum(map(len, files)) / len(files) / 1e6:.2f} MB each")
    laion = bench("laion", files, "laion", [], args.batch_size, args.repeats)
    aesthetic = bench("aesthetic", files, "sa1b", ["filters.aesthetic={threshold: 5.0}"],
                      args.batch_size, args.repeats)
    sa1b = bench("sa1b", files, "sa1b", [], args.batch_size, args.repeats)
    print(f"RATIO one_decode_vs_three_laion={laion:.3f}")
    print(f"RATIO one_decode_vs_three_aesthetic={aesthetic:.3f}")
    print(f"RATIO one_decode_vs_three={sa1b:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
