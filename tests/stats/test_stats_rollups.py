"""Per-manifest rollups: exact contents, freshness, and tables equal to the scan path."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow.parquet as pq
from stats_helpers import make_run, manifest_row

from paraimage.manifest import to_table
from stats.report import write_run_report
from stats.rollups import (
    RUN_ROLLUP_PREFIX,
    WORD_CAP,
    fresh_rollups,
    rollup_dir,
    update_rollups,
)
from stats.tables import compute_tables
from stats.views import STATS_DIR, TEXT_STATS_DIR, connect, create_run_views


def _two_row_run(tmp_path: Path) -> Path:
    rows = [
        manifest_row("laion", "a", caption_model="m1", short_edge=600, n_words=10, n_nouns=3,
                     n_adj_adv=1, n_prep=2, n_clip_tokens=14, n_sentences=1,
                     nouns=["dog", "sky"], alt_n_words=400, alt_nouns=["dog"]),
        manifest_row("laion", "b", caption_model="m1", short_edge=None, n_words=20,
                     n_nouns=5, n_adj_adv=0, n_prep=1, n_clip_tokens=25, n_sentences=2,
                     nouns=["dog"]),
        manifest_row("laion", "c", status="rejected", reject_reason="x", n_words=99,
                     nouns=["cat"]),
    ]
    return make_run(tmp_path / "run", {"laion-00000": rows})


def test_rollup_rows_are_exact(tmp_path: Path) -> None:
    run = _two_row_run(tmp_path)
    update = update_rollups(run)
    assert update.written == 1 and update.removed == 0
    (path,) = fresh_rollups(run)
    rows = {(r["text"], r["measure"], r["key"]): r["value"]
            for r in pq.read_table(path).to_pylist()}
    assert {r["source"] for r in pq.read_table(path).to_pylist()} == {"laion"}
    # the run rollup of one shard: the same rows, nouns summed to the reported levels
    merged = update.run_rollup
    assert merged.name.startswith(RUN_ROLLUP_PREFIX)
    run_rows = {(r["source"], r["caption_model"], r["text"], r["measure"], r["key"]): r["value"]
                for r in pq.read_table(merged).to_pylist()}
    shard_rows = {(r["source"], r["caption_model"], r["text"], r["measure"], r["key"]): r["value"]
                  for r in pq.read_table(path).to_pylist()}
    assert {k: v for k, v in run_rows.items() if not k[3].startswith("noun_")} == {
        k: v for k, v in shard_rows.items() if k[3] != "noun"}
    nouns = {k: v for k, v in shard_rows.items() if k[3] == "noun"}
    assert {k: v for k, v in run_rows.items() if k[3] == "noun_all"} == {
        (None, None, t, "noun_all", n): v for (_, _, t, _, n), v in nouns.items()}
    assert {k: v for k, v in run_rows.items() if k[3] == "noun_source"} == {
        ("laion", None, t, "noun_source", n): v for (_, _, t, _, n), v in nouns.items()}
    assert {k: v for k, v in run_rows.items() if k[3] == "noun_captioner"} == {
        (None, "m1", t, "noun_captioner", n): v for (_, _, t, _, n), v in nouns.items()}
    # kept rows only: the rejected row's 99 words and "cat" are not counted
    assert rows[(None, "images", None)] == 2
    assert rows[(None, "sum_short_edge", None)] == 600
    assert rows[(None, "n_short_edge", None)] == 1
    assert rows[("caption", "sum_n_words", None)] == 30
    assert rows[("caption", "n_n_words", None)] == 2
    assert rows[("caption", "sum_n_clip_tokens", None)] == 39
    assert rows[("alt_text", "sum_n_words", None)] == 400
    assert rows[("alt_text", "n_n_words", None)] == 1
    assert rows[("alt_text", "n_n_nouns", None)] == 0
    assert rows[("caption", "hist", "10")] == 1 and rows[("caption", "hist", "20")] == 1
    assert rows[("alt_text", "hist", str(WORD_CAP))] == 1  # 400 words lumped at the cap
    assert rows[("caption", "noun", "dog")] == 2 and rows[("caption", "noun", "sky")] == 1
    assert rows[("alt_text", "noun", "dog")] == 1
    assert ("caption", "noun", "cat") not in rows
    # the funnel counts every row, the rejected one too
    assert rows[("kept", "funnel", None)] == 2 and rows[("rejected", "funnel", "x")] == 1
    assert len(rows) == 3 + 2 * 12 + 3 + 3 + 2  # sums/counts, hist, nouns, funnel


def test_a_rewritten_manifest_is_rolled_up_again(random_run: Path) -> None:
    first = update_rollups(random_run)
    shards = fresh_rollups(random_run)
    assert first.written == 3 and len(shards) == 3
    again = update_rollups(random_run)
    assert (again.written, again.removed, again.run_rollup) == (0, 0, first.run_rollup)
    assert first.run_rollup.stat().st_mtime_ns == again.run_rollup.stat().st_mtime_ns

    manifest = random_run / "manifests" / "laion-00001.parquet"
    table = pq.read_table(manifest).to_pylist()
    kept = [row for row in table if row["status"] == "kept"]
    kept[0]["status"], kept[0]["reject_reason"] = "rejected", "dedup_exact"
    pq.write_table(to_table(table), manifest)
    st = manifest.stat()  # same size and mtime would hide a rewrite: make sure it shows
    os.utime(manifest, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert fresh_rollups(random_run) is None

    con = connect()
    create_run_views(con, random_run)
    update = update_rollups(random_run)
    assert (update.written, update.removed) == (1, 1)
    assert update.run_rollup != first.run_rollup  # a new run rollup, the old one removed
    assert sorted(p.name for p in rollup_dir(random_run).iterdir()) == sorted(
        p.name for p in (*fresh_rollups(random_run), update.run_rollup)
    )
    from_files = compute_tables(con, words=False, rollup=update.run_rollup)
    scanned = compute_tables(con, words=False)
    for name, table in scanned.items():
        assert from_files[name].equals(table), name
    view = con.sql("SELECT * FROM funnel").to_arrow_table()
    assert from_files["funnel"].to_pylist() == view.to_pylist()
    overall = [r for r in from_files["summary"].to_pylist()
               if r["grouping"] == "all" and r["text"] == "caption"][0]
    kept_rows = sum(
        row["status"] == "kept"
        for path in (random_run / "manifests").glob("*.parquet")
        for row in pq.read_table(path).to_pylist()
    )
    assert overall["images"] == kept_rows


def test_a_removed_manifest_loses_its_rollup(random_run: Path) -> None:
    update_rollups(random_run)
    (random_run / "manifests" / "sa1b-00000.parquet").unlink()
    update = update_rollups(random_run)
    assert (update.written, update.removed) == (0, 1)
    assert sorted(p.name.split("@")[0] for p in fresh_rollups(random_run)) == [
        "laion-00000", "laion-00001"]
    con = connect()
    create_run_views(con, random_run)
    funnel = compute_tables(con, words=False, rollup=update.run_rollup)["funnel"]
    assert set(funnel.column("source").to_pylist()) == {"laion"}


def test_interrupted_write_leftovers_and_empty_shards(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", {
        "s-0": [manifest_row(status="rejected", reject_reason="x")],
        "s-1": [manifest_row(key="1", n_words=5, nouns=["dog"])],
    })
    out = rollup_dir(run)
    out.mkdir(parents=True)
    old_tmp = out / "s-0@v1-1-1.parquet.tmp"
    old_tmp.write_bytes(b"half")
    os.utime(old_tmp, (0, 0))
    update = update_rollups(run)
    assert update.written == 2 and update.removed == 1 and not old_tmp.exists()
    empty = [p for p in fresh_rollups(run) if p.name.startswith("s-0@")][0]
    # a shard without kept rows: its funnel only
    assert [(r["text"], r["measure"], r["key"], r["value"])
            for r in pq.read_table(empty).to_pylist()] == [("rejected", "funnel", "x", 1)]
    con = connect()
    create_run_views(con, run)
    summary = compute_tables(con, words=False, rollup=update.run_rollup)["summary"].to_pylist()
    overall = [r for r in summary if r["grouping"] == "all" and r["text"] == "caption"][0]
    assert (overall["images"], overall["mean_words"], overall["distinct_nouns"]) == (1, 5.0, 1)


def test_recomputed_statistics_have_no_rollups(random_run: Path) -> None:
    (random_run / STATS_DIR / TEXT_STATS_DIR).mkdir(parents=True)
    pq.write_table(pq.read_table(random_run / "manifests" / "sa1b-00000.parquet"),
                   random_run / STATS_DIR / TEXT_STATS_DIR / "part-0.parquet")
    assert update_rollups(random_run).run_rollup is None
    assert fresh_rollups(random_run) is None
    assert not rollup_dir(random_run).exists()


def test_the_run_report_writes_rollups_once(random_run: Path) -> None:
    write_run_report(random_run, words=False)
    names = sorted(p.name for p in rollup_dir(random_run).iterdir())
    assert len(names) == 4  # 3 shards and the run
    mtimes = [p.stat().st_mtime_ns for p in sorted(rollup_dir(random_run).iterdir())]
    write_run_report(random_run, words=False)
    assert [p.stat().st_mtime_ns for p in sorted(rollup_dir(random_run).iterdir())] == mtimes


def test_an_unwritable_run_rolls_up_on_the_fly(random_run: Path) -> None:
    (random_run / STATS_DIR).write_text("a file where the stats folder would be")
    assert update_rollups(random_run).run_rollup is None  # no error: tables scan instead
