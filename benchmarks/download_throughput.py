"""Download throughput: our LAION download stage against bare img2dataset, same URLs.

Serves a few thousand JPEGs from ``python -m http.server`` on 127.0.0.1 (its own
process, so neither side shares a GIL with the server), writes LAION-style metadata
pointing at them, then times on the same URLs, alternating, in the same run:

* ``img2dataset``: ``img2dataset.download`` (parquet in, webdataset out, resizing off,
  ``processes_count`` processes x ``thread_count`` threads);
* ``pipeline``: our ``laion`` source through the Ray Data read of the recaption job
  (plan + img2dataset download per shard + reading every record back), with as many
  concurrent shard tasks as img2dataset has processes and the same threads each.

Both pay their worker start-up: img2dataset starts its process pool per call, and each
pipeline repeat is a new Ray job (a new driver connecting to one ``ray start --head``
started before timing, as on a cluster), whose workers start cold. The cluster's own
start-up is not timed, as it is not part of a job. The last line is
``RATIO download_pipeline_vs_img2dataset=<pipeline images/s / img2dataset images/s>``.

    python benchmarks/download_throughput.py --images 2000 --repeats 3
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import skimage.data
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

from ray_head import free_port, ray_head  # noqa: E402

from curation.url_text import UrlTextSource, UrlTextSourceConfig  # noqa: E402
from paraimage.engine import build_dataset, iter_output_rows  # noqa: E402

_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")


def make_images(folder: Path, n: int, size: int = 320) -> list[str]:
    """Distinct JPEG crops of package photos (LAION thumbnails are this size)."""
    rng = np.random.default_rng(0)
    sources = [getattr(skimage.data, name)() for name in _PHOTOS]
    names = []
    for i in range(n):
        photo = sources[i % len(sources)]
        top = int(rng.integers(0, photo.shape[0] - size // 2))
        left = int(rng.integers(0, photo.shape[1] - size // 2))
        crop = Image.fromarray(photo[top:top + size, left:left + size]).convert("RGB")
        crop = crop.resize((size, size))
        buffer = io.BytesIO()
        crop.save(buffer, "JPEG", quality=85)
        name = f"{i:06d}.jpg"
        (folder / name).write_bytes(buffer.getvalue())
        names.append(name)
    return names


def start_server(folder: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
         "--directory", str(folder)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(base, timeout=1).close()
            return server, base
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("http.server did not start")


def run_img2dataset(metadata: Path, out: Path, processes: int, threads: int,
                    per_shard: int) -> int:
    from img2dataset import download

    download(
        url_list=str(metadata), input_format="parquet", url_col="URL", caption_col="TEXT",
        output_folder=str(out), output_format="webdataset", processes_count=processes,
        thread_count=threads, number_sample_per_shard=per_shard, resize_mode="no",
        skip_reencode=True, extract_exif=False, enable_wandb=False, timeout=10,
    )
    return sum(
        pq.read_table(p, columns=["status"]).column("status").to_pylist().count("success")
        for p in out.glob("*.parquet")
    )


def run_pipeline(metadata: Path, out: Path, processes: int, threads: int,
                 per_shard: int) -> int:
    source = UrlTextSource(UrlTextSourceConfig(
        kind="laion", metadata=[str(metadata)], rows_per_shard=per_shard,
        download={"thread_count": threads, "timeout_s": 10}, download_dir=out,
    ))
    shards = source.plan()
    # one CPU per shard task on a Ray of `processes` CPUs: `processes` downloads at once
    dataset = build_dataset(shards, source, "bench", [], read_num_cpus=1.0)
    return sum(1 for row in iter_output_rows(dataset) if row["status"] == "kept")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--per-shard", type=int, default=250)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    with ray_head(args.processes) as address:
        rates = measure(args, address)
    medians = {name: statistics.median(values) for name, values in rates.items()}
    for name, value in medians.items():
        print(f"median {name:12s} {value:7.1f} images/s")
    print(f"RATIO download_pipeline_vs_img2dataset="
          f"{medians['pipeline'] / medians['img2dataset']:.3f}")


def measure(args: argparse.Namespace, address: str) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        served = root / "served"
        served.mkdir()
        names = make_images(served, args.images)
        server, base = start_server(served)
        try:
            metadata = root / "laion.parquet"
            pq.write_table(pa.table({
                "URL": [f"{base}/{name}" for name in names],
                "TEXT": [f"photo {name}" for name in names],
                "WIDTH": [320.0] * len(names), "HEIGHT": [320.0] * len(names),
            }), metadata)
            rates: dict[str, list[float]] = {"img2dataset": [], "pipeline": []}
            runners = {"img2dataset": run_img2dataset, "pipeline": run_pipeline}
            for repeat in range(args.repeats):
                for name, runner in runners.items():
                    out = root / f"{name}-{repeat}"
                    started = time.perf_counter()
                    with ray_job(address if name == "pipeline" else None):
                        ok = runner(metadata, out, args.processes, args.threads,
                                    args.per_shard)
                    seconds = time.perf_counter() - started
                    if ok != args.images:
                        raise SystemExit(f"{name}: {ok}/{args.images} images downloaded")
                    rates[name].append(ok / seconds)
                    print(f"repeat {repeat} {name:12s} {ok} images in {seconds:6.2f} s "
                          f"= {ok / seconds:7.1f} images/s", flush=True)
        finally:
            server.kill()
    return rates


@contextlib.contextmanager
def ray_job(address: str | None) -> Iterator[None]:
    """A new Ray job (driver) on the running head: its workers start cold."""
    if address is None:
        yield
        return
    import ray
    from ray.data import DataContext

    ray.init(address=address, log_to_driver=False)
    DataContext.get_current().enable_progress_bars = False
    try:
        yield
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
