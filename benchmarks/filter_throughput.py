"""Filter throughput: mosaic detection against bare JPEG decoding, and aesthetic scoring.

Builds SA-1B-sized JPEGs (about 1500x2250, quality 90) from real photographs shipped by
scikit-image, then times on the same files in the same run:

* ``decode``: bytes -> RGB PIL (what the decode stage does once per image);
* ``mosaic``: decode + ``MosaicFilter.apply`` (the stage's real cost per image);
* ``aesthetic``: ``AestheticFilter.score_batch`` on the decoded images (random weights:
  only the speed means anything; ViT-L-14 by default, ``--clip-model`` to change).

The last line is ``RATIO mosaic_vs_decode=<decode time / mosaic-stage time>``: 0.5 means
detection costs as much as decoding. Absolute numbers on shared machines are noise.

    python benchmarks/filter_throughput.py --images 12 --repeats 3
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import skimage.data
from PIL import Image

from filters.mosaic import MosaicFilter

SA1B_SIZE = (2250, 1500)  # (width, height) of a typical SA-1B image
_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "retina")


def make_jpegs(n: int, seed: int = 0) -> list[bytes]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        array = getattr(skimage.data, _PHOTOS[i % len(_PHOTOS)])()
        image = Image.fromarray(array).convert("RGB").resize(SA1B_SIZE, Image.BICUBIC)
        # Sensor-like noise so the upscaled photo has the fine texture a real one has.
        noisy = np.asarray(image, dtype=np.float32) + rng.normal(0, 3, (*SA1B_SIZE[::-1], 3))
        buf = io.BytesIO()
        Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=90)
        out.append(buf.getvalue())
    return out


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image.convert("RGB")


def run_decode_and_mosaic(files: list[bytes], mosaic: MosaicFilter) -> tuple[float, float]:
    """Seconds spent decoding, and decoding + mosaic filtering, the same files."""
    t_decode = t_mosaic = 0.0
    for data in files:
        start = time.perf_counter()
        decode(data)
        mid = time.perf_counter()
        mosaic.apply({}, decode(data))
        t_decode += mid - start
        t_mosaic += time.perf_counter() - mid
    return t_decode, t_mosaic


def per_second(fn: Callable[[], None], n: int, repeats: int) -> float:
    """Median images/s over ``repeats`` runs of ``fn`` (which processes ``n`` images)."""
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        rates.append(n / (time.perf_counter() - start))
    return statistics.median(rates)


def bench_aesthetic(images: list[Image.Image], clip_model: str, repeats: int) -> float:
    import open_clip
    import torch

    from filters.aesthetic import AestheticFilter, AestheticFilterConfig, build_aesthetic_head

    dim = open_clip.get_model_config(clip_model)["embed_dim"]
    with tempfile.TemporaryDirectory() as tmp:
        head = Path(tmp) / "sac+logos+ava1-l14-linearMSE.pth"
        torch.save(build_aesthetic_head(dim).state_dict(), head)
        filt = AestheticFilter(AestheticFilterConfig(
            clip_model=clip_model, pretrained=None, head_weights=str(head), recompute=True,
            batch_size=len(images)))
        filt.load()
        rows = [{} for _ in images]
        filt.score_batch(rows[:1], images[:1])  # warm-up
        return per_second(lambda: filt.score_batch(rows, images), len(images), repeats)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--clip-model", default="ViT-L-14")
    parser.add_argument("--aesthetic-images", type=int, default=4)
    parser.add_argument("--skip-aesthetic", action="store_true")
    args = parser.parse_args(argv)

    files = make_jpegs(args.images)
    mean_mb = sum(map(len, files)) / len(files) / 1e6
    print(f"{len(files)} JPEGs of {SA1B_SIZE[0]}x{SA1B_SIZE[1]}, {mean_mb:.2f} MB each")
    mosaic = MosaicFilter()

    # Decode and decode+mosaic alternate image by image, so that load from other
    # processes on a shared machine falls on both alike; medians over repeats.
    run_decode_and_mosaic(files, mosaic)  # warm caches
    decode_rates, mosaic_rates = [], []
    for _ in range(args.repeats):
        t_decode, t_mosaic = run_decode_and_mosaic(files, mosaic)
        decode_rates.append(len(files) / t_decode)
        mosaic_rates.append(len(files) / t_mosaic)
    decode_rate = statistics.median(decode_rates)
    mosaic_rate = statistics.median(mosaic_rates)
    ratio = statistics.median(d / m for d, m in zip(mosaic_rates, decode_rates, strict=True))
    detect_ms = 1000 / mosaic_rate - 1000 / decode_rate
    print(f"decode          {decode_rate:8.2f} images/s")
    print(f"decode+mosaic   {mosaic_rate:8.2f} images/s  (detection {detect_ms:.1f} ms/image)")
    if not args.skip_aesthetic:
        images = [decode(d) for d in files[: args.aesthetic_images]]
        rate = bench_aesthetic(images, args.clip_model, args.repeats)
        print(f"aesthetic       {rate:8.2f} images/s  ({args.clip_model}, random weights)")
    print(f"RATIO mosaic_vs_decode={ratio:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
