"""Run report at scale: size and generation time of ``paraimage report`` on a generated
run, against a bare DuckDB scan of the same manifests; and how fast the page opens.

    python benchmarks/report_size.py [--rows 100000] [--images 200] [--runs 3]

The run: ``--rows`` manifest rows in shards of 5,000 (70 % kept with two captioners'
~150-word captions as ``caption_variants``, 20 % rejected over five reasons, 10 % errors
over four kinds, a quarter of the captions flagged), written by the job's manifest
writer; their ``image_ref`` cycle over ``--images`` distinct 1024x768 JPEG files. The
report (default sample: 60 kept, 12 per reason and error kind) is written ``--runs``
times; the figure is the median. The bare scan reads what any summary must read
(``status``, ``reject_reason``, ``error``, ``caption_flags``, ``caption_variants``'
captioner and word count) in one ``GROUP BY``. Printed: the report folder's size (the
page and its thumbnails), the page alone, its cards, the time headless Chromium takes
from navigation to the load event (thumbnails decoded) with the filters applied once,
and last ``RATIO report_vs_scan=<report seconds / scan seconds>``.
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from paraimage.manifest import SCHEMA_VERSION, record_id  # noqa: E402
from paraimage.shard_writer import write_manifest  # noqa: E402
from workflows.runview.report import write_report  # noqa: E402

ROWS_PER_SHARD = 5000
REJECT_REASONS = ("resolution_short_edge", "aesthetic_low_score", "mosaic_pixelated",
                  "dedup_near", "caption_refusal")
ERROR_KINDS = ("decode_corrupt", "download_http_404", "download_timeout", "decode_empty_file")
FLAGS = ("truncated", "repetitive", "off_length")
WORDS = ("a", "the", "red", "wooden", "table", "near", "window", "light", "soft", "dog",
         "sits", "beside", "old", "chair", "with", "blue", "cushion", "and", "plant", "wall")


def make_images(n: int, folder: Path) -> list[Path]:
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        base = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
        image = Image.fromarray(base).resize((1024, 768), Image.Resampling.BICUBIC)
        path = folder / f"img_{i:05d}.jpg"
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=90)
        path.write_bytes(buffer.getvalue())
        paths.append(path)
    return paths


def _variant(captioner: str, caption: str, flags: list[str]) -> dict:
    return {"captioner": captioner, "variant": "150w", "model": f"{captioner}-model",
            "prompt": "Describe the image.", "target_words": 150, "params": "{}",
            "status": "ok", "reason": None, "caption": caption, "caption_raw": caption,
            "finish_reason": "stop", "flags": flags, "n_tokens": 200,
            "n_words": len(caption.split())}


def make_run(root: Path, rows: int, images: list[Path]) -> None:
    rng = random.Random(0)
    captions = [" ".join(rng.choices(WORDS, k=150)) + "." for _ in range(500)]
    (root / "manifests").mkdir(parents=True)
    for shard in range(0, rows, ROWS_PER_SHARD):
        shard_id = f"s-{shard // ROWS_PER_SHARD:05d}"
        batch = []
        for i in range(shard, min(rows, shard + ROWS_PER_SHARD)):
            source = "laion" if i % 3 else "sa1b"
            draw = rng.random()
            row = {"id": record_id(source, str(i)), "source": source, "source_key": str(i),
                   "shard_id": shard_id, "run_id": "bench", "schema_version": SCHEMA_VERSION,
                   "image_ref": f"file:{images[i % len(images)]}", "width": 1024,
                   "height": 768, "short_edge": 768, "aesthetic_score": rng.uniform(4, 8),
                   "mosaic_score": rng.uniform(0, 1.5), "alt_text": f"alt {i}"}
            if draw < 0.7:
                flags = [rng.choice(FLAGS)] if rng.random() < 0.25 else []
                caption = captions[i % len(captions)]
                row.update(status="kept", caption=caption, caption_model="llava-model",
                           caption_flags=flags, n_words=151, caption_n_tokens=200,
                           caption_variants=[_variant("llava", caption, flags),
                                             _variant("cogvlm", captions[(i + 7) % 500], [])])
            elif draw < 0.9:
                row.update(status="rejected", reject_reason=rng.choice(REJECT_REASONS))
            else:
                row.update(status="error", image_ref=None,
                           error=f"{rng.choice(ERROR_KINDS)}: details of row {i}")
            batch.append(row)
        write_manifest(root / "manifests" / f"{shard_id}.parquet", batch)


def bare_scan(root: Path) -> float:
    start = time.perf_counter()
    duckdb.sql(f"""
        SELECT status, coalesce(reject_reason, split_part(error, ':', 1)),
               count(*), sum(len(caption_flags)),
               sum(list_sum(list_transform(caption_variants, lambda v: v.n_words)))
        FROM '{root}/manifests/*.parquet' GROUP BY ALL
    """).fetchall()
    return time.perf_counter() - start


def folder_size(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


def open_time(index: Path) -> float | None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        start = time.perf_counter()
        page.goto(index.as_uri(), wait_until="load")
        page.select_option("#f-source", "laion")
        page.wait_for_function("document.getElementById('shown').textContent.length > 0")
        seconds = time.perf_counter() - start
        browser.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="report-bench-") as tmp:
        work = Path(tmp)
        (work / "images").mkdir()
        start = time.perf_counter()
        images = make_images(args.images, work / "images")
        root = work / "run"
        make_run(root, args.rows, images)
        print(f"generated {args.rows} rows in {time.perf_counter() - start:.1f} s", flush=True)
        scan = statistics.median(bare_scan(root) for _ in range(args.runs))
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            index = write_report(root)
            times.append(time.perf_counter() - start)
        report = statistics.median(times)
        total, n_files = folder_size(index.parent)
        cards = index.read_text().count('<article class="card ')
        print(f"bare DuckDB scan: {scan:.3f} s (median of {args.runs})")
        each = ", ".join(f"{t:.2f}" for t in times)
        print(f"report: {report:.2f} s (median of {args.runs}; runs {each})")
        print(f"report folder: {total / 1e6:.2f} MB in {n_files} files; index.html "
              f"{index.stat().st_size / 1e3:.0f} kB, {cards} cards")
        opened = open_time(index)
        if opened is not None:
            print(f"opens in headless Chromium (load + one filter): {opened:.2f} s")
        print(f"RATIO report_vs_scan={report / scan:.2f}")


if __name__ == "__main__":
    main()
