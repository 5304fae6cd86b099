"""Export throughput: ``paraimage export --format webdataset`` against a bare tar copy.

Builds a finished run of ``--images`` JPEGs (``--size``, default 1024x768: crops of
the scikit-image photographs with noise) with ~150-word captions in its manifests,
then times on the same run, alternating, in the same process:

* ``tar copy``: the reference a user could write in ten lines: for the same images, in
  the same order and the same shard sizes, read each file and add it to a tar with
  Python's ``tarfile`` (the file list is made before timing; no captions, no JSON);
* ``export``: the whole export command path: DuckDB selection and shard plan, reading
  each image by its ``image_ref``, checking it against the manifest (``--verify``: its
  size, the default, or its sha256), the caption mix, ``key.jpg`` + ``key.json`` +
  ``key.txt`` per sample, atomic shards with their counts, the report and the card.

Every figure is the median of ``--repeats`` runs of each side (after one warm-up of
each, so both read images from the page cache). The last line is
``RATIO export_vs_tar_copy=<export images/s / tar copy images/s>``.

    python benchmarks/export_throughput.py --images 5000 --repeats 5 [--work-dir /dev/shm]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import shutil
import statistics
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from export import ExportOptions, export_run  # noqa: E402
from paraimage.manifest import SCHEMA_VERSION, record_id  # noqa: E402
from paraimage.shard_writer import write_manifest  # noqa: E402

SENTENCES = (
    "A woman in a white spacesuit stands before an American flag in a bright studio.",
    "She holds a round helmet under her left arm and smiles toward the camera.",
    "Behind her a grey model of a spacecraft rests on a low wooden stand.",
    "Soft light from a tall window on the left falls across her face and shoulders.",
    "The wall behind the flag is painted a pale blue with a thin red stripe.",
    "Her suit carries several patches, a name tag and a row of silver buttons.",
    "The floor is polished and reflects the edge of the flag and the stand.",
    "On a small table to the right lie a notebook, a pen and a coffee cup.",
    "The scene feels calm and formal, like an official portrait before a flight.",
    "Small details such as the folds of the fabric and the stitching are sharp.",
)
ROWS_PER_MANIFEST = 500


def make_images(n: int, folder: Path, size: tuple[int, int], seed: int = 0) -> list[Path]:
    """``n`` distinct JPEGs of ``size``: crops of upscaled photographs with noise."""
    import skimage.data

    rng = np.random.default_rng(seed)
    width, height = size
    photos = []
    for photo in (skimage.data.astronaut(), skimage.data.coffee(), skimage.data.chelsea(),
                  skimage.data.rocket()):
        scale = max(width / photo.shape[1], height / photo.shape[0]) * 1.2
        photos.append(np.asarray(Image.fromarray(photo).resize(
            (int(photo.shape[1] * scale) + 1, int(photo.shape[0] * scale) + 1))))
    paths = []
    for i in range(n):
        big = photos[i % len(photos)]
        top = rng.integers(0, big.shape[0] - height)
        left = rng.integers(0, big.shape[1] - width)
        crop = big[top : top + height, left : left + width].astype(np.int16)
        crop = np.clip(crop + rng.normal(0, 4, crop.shape), 0, 255).astype(np.uint8)
        path = folder / f"img_{i:06d}.jpg"
        buffer = io.BytesIO()
        Image.fromarray(crop).save(buffer, format="JPEG", quality=90)
        path.write_bytes(buffer.getvalue())
        paths.append(path)
    return paths


def make_run(root: Path, images: list[Path], size: tuple[int, int], seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    (root / "manifests").mkdir(parents=True)
    rows = []
    for i, path in enumerate(images):
        data = path.read_bytes()
        caption = " ".join(rng.permutation(SENTENCES))  # ~150 words, 10 sentences
        rows.append({
            "id": record_id("laion", path.name), "source": "laion", "source_key": path.name,
            "shard_id": f"laion-{i // ROWS_PER_MANIFEST:05d}", "run_id": "bench",
            "schema_version": SCHEMA_VERSION, "status": "kept", "image_ref": f"file:{path}",
            "sha256": hashlib.sha256(data).hexdigest(), "width": size[0], "height": size[1],
            "short_edge": min(size), "format": "JPEG", "mode": "RGB", "n_bytes": len(data),
            "alt_text": f"photo {i}", "aesthetic_score": 6.0, "caption": caption,
            "caption_raw": caption, "caption_model": "bench-vlm",
            "caption_prompt": "Describe the image in about 150 words.",
            "caption_params": '{"temperature": 0.0}', "caption_finish_reason": "stop",
            "caption_flags": [], "n_words": len(caption.split()),
            "caption_variants": [{
                "captioner": "bench-vlm", "variant": "150w", "model": "bench-vlm",
                "prompt": "Describe the image in about 150 words.", "target_words": 150,
                "params": '{"temperature": 0.0}', "status": "ok", "reason": None,
                "caption": caption, "caption_raw": caption, "finish_reason": "stop",
                "flags": [], "n_tokens": 190, "n_words": len(caption.split()),
            }],
        })
    for start in range(0, len(rows), ROWS_PER_MANIFEST):
        chunk = rows[start : start + ROWS_PER_MANIFEST]
        write_manifest(root / "manifests" / f"{chunk[0]['shard_id']}.parquet", chunk)


def tar_copy(files: list[tuple[str, Path]], out: Path, shard_samples: int) -> None:
    out.mkdir()
    for shard, start in enumerate(range(0, len(files), shard_samples)):
        with tarfile.open(out / f"shard-{shard:05d}.tar", "w") as tar:
            for name, path in files[start : start + shard_samples]:
                data = path.read_bytes()
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=5000,
                        help="enough that the fixed start (~0.15 s) weighs as little as in a "
                        "real release")
    parser.add_argument("--size", default="1024x768",
                        help="image size WxH (ParaImage keeps short edges >= 512 px)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--shard-samples", type=int, default=500)
    parser.add_argument("--mix", default="caption=0.95,alt_text=0.05")
    parser.add_argument("--verify", choices=("size", "sha256"), default="size",
                        help="the export's image check (size: the default)")
    parser.add_argument("--work-dir", type=Path, default=None,
                        help="where images, run and shards go (default: the system temp "
                        "folder; /dev/shm takes the disk out of both sides)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="export-bench-", dir=args.work_dir))
    try:
        (work / "images").mkdir()
        size = tuple(int(v) for v in args.size.lower().split("x"))
        images = make_images(args.images, work / "images", (size[0], size[1]))
        make_run(work / "run", images, (size[0], size[1]))
        total_bytes = sum(p.stat().st_size for p in images)
        print(f"{len(images)} JPEGs, {total_bytes / 1e6:.1f} MB "
              f"({total_bytes / len(images) / 1e3:.0f} KB each), shards of {args.shard_samples}, "
              f"verify {args.verify}, in {work.parent}")
        # the export's order (by id), so both sides write the same images per shard
        files = sorted((record_id("laion", p.name), p) for p in images)
        files = [(f"{key}.jpg", path) for key, path in files]
        weights = dict(
            (name, float(w)) for name, w in (part.split("=") for part in args.mix.split(",")))
        total = sum(weights.values())
        options = {"run_dir": work / "run", "format": "webdataset", "verify": args.verify,
                   "shard_samples": args.shard_samples,
                   "mix": {k: v / total for k, v in sorted(weights.items())}}

        def bare(i: int) -> float:
            return timed(lambda: tar_copy(files, work / f"tar-{i}", args.shard_samples))

        def ours(i: int) -> float:
            return timed(lambda: export_run(ExportOptions(out=work / f"export-{i}", **options),
                                            progress=False))

        bare(-1), ours(-1)  # warm-up: page cache, imports, DuckDB
        one_row = {**options, "where": f"source_key = '{images[0].name}'"}
        fixed_s = statistics.median(
            timed(lambda i=i: export_run(ExportOptions(out=work / f"one-{i}", **one_row),
                                         progress=False)) for i in range(3))
        bare_s, ours_s = [], []
        for i in range(args.repeats):  # interleaved, so machine load hits both alike
            bare_s.append(bare(i))
            ours_s.append(ours(i))
            shutil.rmtree(work / f"tar-{i}")
            shutil.rmtree(work / f"export-{i}")
        bare_rate = len(images) / statistics.median(bare_s)
        ours_rate = len(images) / statistics.median(ours_s)
        mb = total_bytes / 1e6
        print(f"tar copy: {bare_rate:,.0f} images/s, {mb / statistics.median(bare_s):,.0f} MB/s "
              "(runs: " + ", ".join(f"{s:.2f}s" for s in bare_s) + ")")
        print(f"export:   {ours_rate:,.0f} images/s, {mb / statistics.median(ours_s):,.0f} MB/s "
              "(runs: " + ", ".join(f"{s:.2f}s" for s in ours_s) + ")")
        per_sample = (statistics.median(ours_s) - fixed_s) / len(images)
        bare_per_image = statistics.median(bare_s) / len(images)
        print(f"export fixed cost (a 1-row export): {fixed_s:.2f}s; per image past it "
              f"{per_sample * 1e3:.3f} ms vs tar copy {bare_per_image * 1e3:.3f} ms "
              f"(ratio {bare_per_image / per_sample:.2f} at scale)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"RATIO export_vs_tar_copy={ours_rate / bare_rate:.3f}")


if __name__ == "__main__":
    main()
