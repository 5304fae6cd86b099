from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.parquet as pq
from filter_helpers import manifest_row

from filters.funnel import write_funnel_report
from paraimage.manifest import to_table

ORDER = ["resolution", "aesthetic", "mosaic", "watermark", "dedup"]


def make_run(run_dir: Path) -> None:
    shard_a = [
        manifest_row("a", "1", short_edge=300, status="rejected",
                     reject_reason="resolution_short_edge"),
        manifest_row("a", "2", short_edge=800, aesthetic_score=4.0, status="rejected",
                     reject_reason="aesthetic_low_score"),
        manifest_row("a", "3", short_edge=900, aesthetic_score=6.5, mosaic_score=3.0,
                     mosaic_detected=True, status="rejected", reject_reason="mosaic_detected"),
        manifest_row("a", "4", status="error", error="truncated JPEG"),
    ]
    shard_b = [
        manifest_row("b", "1", short_edge=700, aesthetic_score=7.0, mosaic_score=0.0,
                     pwatermark=0.9, status="rejected", reject_reason="watermark_high_pwatermark"),
        manifest_row("b", "2", short_edge=1024, aesthetic_score=6.1, mosaic_score=0.2,
                     status="rejected", reject_reason="dedup_exact"),
        manifest_row("b", "3", short_edge=1024, aesthetic_score=6.8, mosaic_score=0.1,
                     pwatermark=0.1, status="kept"),
        manifest_row("b", "4", short_edge=640, aesthetic_score=6.2, mosaic_score=0.4,
                     status="rejected", reject_reason="caption_refusal"),
    ]
    for name, rows in (("a", shard_a), ("b", shard_b)):
        path = run_dir / "manifests" / f"{name}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(to_table(rows), path)


def test_funnel_counts_reconcile(tmp_path: Path) -> None:
    make_run(tmp_path)
    out = write_funnel_report(tmp_path, ORDER)
    assert out == tmp_path / "funnel"
    funnel = pq.read_table(out / "funnel.parquet").to_pylist()
    rows = {(r["filter"], r["score_column"]): r for r in funnel}
    got = [(r["filter"], r["saw"], r["rejected"], r["passed"]) for r in funnel]
    assert got == [
        ("resolution", 7, 1, 6),
        ("aesthetic", 6, 1, 5),
        ("mosaic", 5, 1, 4),
        ("watermark", 4, 1, 3),
        ("dedup", 3, 1, 2),
        ("other", 2, 1, 1),  # caption QA reject; the one kept row passes
    ]
    # Watermark scores exist on 2 of the 4 rows it saw; the rest passed unscored.
    assert rows["watermark", "pwatermark"]["n_scored"] == 2
    assert rows["watermark", "pwatermark"]["n_unscored"] == 2
    assert rows["dedup", None]["n_unscored"] is None


def test_histograms_and_markdown(tmp_path: Path) -> None:
    make_run(tmp_path)
    out = write_funnel_report(tmp_path, ORDER)
    con = duckdb.connect()
    hist = con.execute(
        f"SELECT sum(n_passed), sum(n_rejected) FROM '{out}/histograms.parquet' "
        "WHERE filter = 'aesthetic'").fetchone()
    assert hist == (5, 1)  # the six rows aesthetic saw, all scored
    lo, hi = con.execute(
        f"SELECT min(bin_lo), max(bin_hi) FROM '{out}/histograms.parquet' "
        "WHERE score_column = 'short_edge'").fetchone()
    assert (lo, hi) == (300, 1024)
    md = (out / "funnel.md").read_text()
    assert "8 rows, 1 errors" in md
    assert "| 1 | resolution | 7 | 1 | 6 | 85.7% | 0 |" in md
    assert "| 6 | other | 2 | 1 | 1 | 50.0% | - |" in md


def test_rerun_overwrites(tmp_path: Path) -> None:
    make_run(tmp_path)
    write_funnel_report(tmp_path, ORDER)
    out = write_funnel_report(tmp_path, ["resolution"])
    assert [r["filter"] for r in pq.read_table(out / "funnel.parquet").to_pylist()] == [
        "resolution", "other"]
