"""Filter throughput: mosaic detection against bare JPEG decoding, and aesthetic scoring.

Takes the SA-1B-sized (2250x1500, either way up) JPEGs of every family of
``filters.mosaic_eval`` (clean and held-out photos, heavy JPEG, textures, soft focus,
motion blur, upscaled, sky, screenshots, and the pasted positives), ``--images`` per
family, then times on the same files in the same run:

* ``decode``: bytes -> RGB PIL (what the decode stage does once per image);
* ``mosaic``: decode + ``MosaicFilter.apply`` (the stage's real cost per image), with
  the filter's default detector or ``--detector``; the learned detector computes its
  features at half size on these images (``filters/mosaic/features.py``);
* ``aesthetic``: ``AestheticFilter.score_batch`` on the decoded images (random weights:
  only the speed means anything; ViT-L-14 by default, ``--clip-model`` to change).

Per family and overall, ``mosaic_vs_decode`` = decode time / mosaic-stage time: 0.5
means detection costs as much as decoding. The last line is
``RATIO mosaic_vs_decode=<overall>``. Absolute numbers on shared machines are noise.

    python benchmarks/filter_throughput.py --images 4 --repeats 3 --skip-aesthetic
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from filters.mosaic import MosaicFilter, MosaicFilterConfig
from filters.mosaic_eval import generate
from filters.mosaic_eval.families import FAMILIES

SA1B_SIZE = (2250, 1500)  # (width, height) of a typical SA-1B image


def make_jpegs(n: int, seed: int = 0) -> dict[str, list[bytes]]:
    """``n`` SA-1B-sized JPEG files of every evaluation family, by family."""
    out: dict[str, list[bytes]] = {}
    for sample in generate(n, seed, sizes=("sa1b",)):
        out.setdefault(sample.family, []).append(sample.data)
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
    parser.add_argument("--images", type=int, default=4, help="per family")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--detector", choices=("learned", "hand_built", "combined"))
    parser.add_argument("--families", help="comma-separated (default: all)")
    parser.add_argument("--clip-model", default="ViT-L-14")
    parser.add_argument("--aesthetic-images", type=int, default=4)
    parser.add_argument("--skip-aesthetic", action="store_true")
    args = parser.parse_args(argv)

    by_family = make_jpegs(args.images)
    if args.families:
        by_family = {k: v for k, v in by_family.items() if k in args.families.split(",")}
    files = [f for fs in by_family.values() for f in fs]
    mean_mb = sum(map(len, files)) / len(files) / 1e6
    config = MosaicFilterConfig() if args.detector is None else MosaicFilterConfig(
        detector=args.detector)
    print(f"{len(files)} JPEGs of {SA1B_SIZE[0]}x{SA1B_SIZE[1]} ({len(by_family)} families), "
          f"{mean_mb:.2f} MB each; detector {config.detector}")
    mosaic = MosaicFilter(config)

    # Decode and decode+mosaic alternate image by image, so that load from other
    # processes on a shared machine falls on both alike; medians over repeats.
    run_decode_and_mosaic(files, mosaic)  # warm caches
    times = {name: [] for name in by_family}
    for _ in range(args.repeats):
        for name, fs in by_family.items():
            times[name].append(run_decode_and_mosaic(fs, mosaic))
    print(f"{'family':<24}{'decode ms':>10}{'detect ms':>10}{'ratio':>7}")
    for name in [f.name for f in FAMILIES if f.name in by_family]:
        d = statistics.median(t[0] for t in times[name]) / len(by_family[name])
        m = statistics.median(t[1] for t in times[name]) / len(by_family[name])
        print(f"{name:<24}{1000 * d:>10.1f}{1000 * (m - d):>10.1f}{d / m:>7.3f}")
    totals = [(sum(times[k][r][0] for k in by_family), sum(times[k][r][1] for k in by_family))
              for r in range(args.repeats)]
    ratios = [d / m for d, m in totals]
    n = len(files)
    t_decode = statistics.median(d for d, _ in totals)
    t_mosaic = statistics.median(m for _, m in totals)
    print(f"decode          {n / t_decode:8.2f} images/s")
    print(f"decode+mosaic   {n / t_mosaic:8.2f} images/s  "
          f"(detection {1000 * (t_mosaic - t_decode) / n:.1f} ms/image)")
    print("per repeat: " + " ".join(f"{r:.3f}" for r in ratios))
    if not args.skip_aesthetic:
        images = [decode(d) for d in files[: args.aesthetic_images]]
        rate = bench_aesthetic(images, args.clip_model, args.repeats)
        print(f"aesthetic       {rate:8.2f} images/s  ({args.clip_model}, random weights)")
    print(f"RATIO mosaic_vs_decode={statistics.median(ratios):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
