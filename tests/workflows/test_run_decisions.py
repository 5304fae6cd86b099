"""Every reader of a run sees the same rows: after dedup (a decision table, manifests
as written) and in a run made by the previous version (dedup rewrote its manifests,
no decision table), the summary, the funnel report, the statistics views and tables,
the export selection, the review tool's import and the run view's sample agree, row
for row and count for count."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from annotation_tool.contexts.imports import ImportFilter, query_candidates
from annotation_tool.models import ProjectKind
from export.selection import Selection
from filters.dedup_apply import DedupOutcome, apply_dedup
from filters.funnel import write_funnel_report
from paraimage.manifest import SCHEMA_VERSION, record_id, to_table
from paraimage.manifest_reader import manifest_files, run_sql
from paraimage.summary import summarize
from stats.report import write_run_report
from stats.rollups import DECISIONS_ROLLUP_PREFIX, fresh_rollups, rollup_dir, update_rollups
from stats.tables import compute_tables
from stats.views import STATS_DIR, connect, create_run_views
from workflows.runview.sampling import connect as sample_connect
from workflows.runview.sampling import draw_sample

ORDER = ["resolution", "dedup"]
REPO_ROOT = Path(__file__).resolve().parents[2]


def row(shard_id: str, key: str, sha256: str | None, **columns: Any) -> dict[str, Any]:
    out = {"id": record_id("folder", key), "source": "folder", "source_key": key,
           "shard_id": shard_id, "run_id": "r", "schema_version": SCHEMA_VERSION,
           "status": "kept", "sha256": sha256, "image_ref": f"file:/images/{key}",
           "n_bytes": 1000, "short_edge": 600, "caption_model": "m"}
    out.update(columns)
    return out


def kept(shard_id: str, key: str, sha256: str, nouns: list[str]) -> dict[str, Any]:
    caption = "a " + " and ".join(nouns)
    return row(shard_id, key, sha256, caption=caption, n_words=len(caption.split()),
               n_nouns=len(nouns), n_adj_adv=0, n_prep=0, n_clip_tokens=9, n_sentences=1,
               nouns=nouns, caption_flags=[])


ID = {key: record_id("folder", key) for key in ("a1", "a2", "a3", "b1", "b2", "b3", "b4")}


def shards(rewritten: bool) -> dict[str, list[dict[str, Any]]]:
    """b1 is an exact copy of a1, b3 of a2; ``rewritten``: marked in the manifest, as
    the previous version of dedup left them."""
    def duplicate(key: str, sha: str, nouns: list[str], twin: str) -> dict[str, Any]:
        out = kept("b", key, sha, nouns)
        if rewritten:
            out.update(status="rejected", reject_reason="dedup_exact", duplicate_of=ID[twin])
        return out

    return {
        "a": [kept("a", "a1", "s1", ["dog"]), kept("a", "a2", "s2", ["cat", "sky"]),
              row("a", "a3", None, status="error", error="decode_corrupt: truncated")],
        "b": [duplicate("b1", "s1", ["dog", "tree"], "a1"),
              row("b", "b2", "s5", status="rejected", reject_reason="resolution_short_edge"),
              duplicate("b3", "s2", ["boat"], "a2"),
              kept("b", "b4", "s4", ["dog", "lake"])],
    }


@pytest.fixture(params=["decisions", "rewritten"])
def run(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    run_dir = tmp_path / "run"
    (run_dir / "manifests").mkdir(parents=True)
    rewritten = request.param == "rewritten"
    for shard_id, rows in shards(rewritten).items():
        pq.write_table(to_table(rows), run_dir / "manifests" / f"{shard_id}.parquet")
    if not rewritten:
        written = {p: p.read_bytes() for p in manifest_files(run_dir)}
        assert apply_dedup(run_dir, max_hamming=6) == DedupOutcome(2, 2, rejects=True)
        assert {p: p.read_bytes() for p in manifest_files(run_dir)} == written
    else:
        assert not (run_dir / "decisions").exists()
    return run_dir


def test_the_summary(run: Path) -> None:
    summary = summarize(manifest_files(run))
    assert summary.inputs == 7
    assert summary.by_status == {"kept": 3, "rejected": 3, "error": 1}
    assert summary.by_reject_reason == {"dedup_exact": 2, "resolution_short_edge": 1}
    assert summary.by_error_kind == {"decode_corrupt": 1}
    assert summary.by_caption_model == {"m": 5}  # a duplicate keeps its caption


def test_the_funnel_report(run: Path) -> None:
    out = write_funnel_report(run, ORDER)
    funnel = [(r["filter"], r["saw"], r["rejected"], r["passed"])
              for r in pq.read_table(out / "funnel.parquet").to_pylist()]
    assert funnel == [("resolution", 6, 1, 5), ("dedup", 5, 2, 3), ("other", 3, 0, 3)]


def test_the_views_and_the_report_tables(run: Path) -> None:
    con = connect()
    create_run_views(con, run)
    assert con.execute("SELECT source, status, reason, n FROM funnel").fetchall() == [
        ("folder", "error", "decode_corrupt", 1),
        ("folder", "kept", None, 3),
        ("folder", "rejected", "dedup_exact", 2),
        ("folder", "rejected", "resolution_short_edge", 1),
    ]
    assert con.execute("SELECT id, duplicate_of FROM rejected WHERE duplicate_of IS NOT NULL "
                       "ORDER BY id").fetchall() == sorted([(ID["b1"], ID["a1"]),
                                                           (ID["b3"], ID["a2"])])
    assert sorted(r[0] for r in con.execute("SELECT id FROM captions").fetchall()) == sorted(
        [ID["a1"], ID["a2"], ID["b4"]])
    on_the_fly = compute_tables(con)
    write_run_report(run)
    # the report's tables come from the rollups; they equal the tables of the rows
    for name in ("summary", "nouns", "funnel", "length_histogram", "length_buckets"):
        assert pq.read_table(run / STATS_DIR / f"{name}.parquet").to_pylist() == (
            on_the_fly[name].to_pylist()), name
    summary = {(r["grouping"], r["text"]): r["images"]
               for r in pq.read_table(run / STATS_DIR / "summary.parquet").to_pylist()}
    assert summary[("all", "caption")] == 3
    nouns = {r["noun"]: r["texts_with_noun"] for r in on_the_fly["nouns"].to_pylist()
             if r["text"] == "caption"}
    assert nouns == {"dog": 2, "cat": 1, "sky": 1, "lake": 1}  # not b1's tree, b3's boat


def test_the_export_selection(run: Path) -> None:
    selection = Selection(run, "status = 'kept'")
    plan = selection.plan(lambda i: f"{i:05d}", max_samples=100, max_bytes=10**9)
    assert plan.n_rows == 3
    assert selection.run_counts() == [{"source": "folder", "status": "error", "n": 1},
                                      {"source": "folder", "status": "kept", "n": 3},
                                      {"source": "folder", "status": "rejected", "n": 3}]


def test_the_review_tools_import(run: Path) -> None:
    candidates = query_candidates(run, ImportFilter(), ProjectKind.SMALL)
    assert sorted(candidates) == sorted([ID["a1"], ID["a2"], ID["b4"]])


def test_the_run_views_sample(run: Path) -> None:
    sample = draw_sample(sample_connect(manifest_files(run)), n=10, per_group=5)
    assert sorted(r["id"] for r in sample.kept) == sorted([ID["a1"], ID["a2"], ID["b4"]])
    assert {reason: sorted((r["id"], r["duplicate_of"]) for r in rows)
            for reason, rows in sample.rejected.items()} == {
        "dedup_exact": sorted([(ID["b1"], ID["a1"]), (ID["b3"], ID["a2"])]),
        "resolution_short_edge": [(ID["b2"], None)],
    }
    assert {kind: len(rows) for kind, rows in sample.errors.items()} == {"decode_corrupt": 1}


def test_dedup_leaves_the_shard_rollups_fresh(tmp_path: Path) -> None:
    # Rolled up as the job does, each shard when written; dedup then decides: no shard
    # rollup goes stale, one decisions rollup counts the change
    run_dir = tmp_path / "run"
    (run_dir / "manifests").mkdir(parents=True)
    for shard_id, rows in shards(rewritten=False).items():
        pq.write_table(to_table(rows), run_dir / "manifests" / f"{shard_id}.parquet")
    before = update_rollups(run_dir)
    shard_rollups = fresh_rollups(run_dir)
    assert before.written == 2
    apply_dedup(run_dir, max_hamming=6)
    after = update_rollups(run_dir)
    assert (after.written, after.removed) == (0, 0)
    assert fresh_rollups(run_dir) == shard_rollups
    assert after.run_rollup != before.run_rollup
    assert [p.name.startswith(DECISIONS_ROLLUP_PREFIX)
            for p in sorted(rollup_dir(run_dir).iterdir())].count(True) == 1
    assert update_rollups(run_dir) == after  # nothing to do again
    images = {r["measure"]: r["value"] for r in pq.read_table(after.run_rollup).to_pylist()
              if r["measure"] == "images"}
    assert images == {"images": 3}


def test_the_documented_sql_gives_the_effective_rows(tmp_path: Path) -> None:
    # docs/manifest.md's plain-SQL view and funnel, run as written on a deduplicated run
    run_dir = tmp_path / "run"
    (run_dir / "manifests").mkdir(parents=True)
    for shard_id, rows in shards(rewritten=False).items():
        pq.write_table(to_table(rows), run_dir / "manifests" / f"{shard_id}.parquet")
    apply_dedup(run_dir, max_hamming=6)
    doc = (REPO_ROOT / "docs" / "manifest.md").read_text()
    section = doc.split("### Querying a run with DuckDB", 1)[1]
    sql = section.split("```sql\n", 1)[1].split("```", 1)[0].replace("runs/demo", str(run_dir))
    view, funnel = (s for s in sql.split(";") if s.strip())
    con = duckdb.connect()
    con.execute(view)
    assert con.execute(funnel).fetchall() == [
        ("error", "decode_corrupt", 1),
        ("kept", None, 3),
        ("rejected", "dedup_exact", 2),
        ("rejected", "resolution_short_edge", 1),
    ]
    assert con.execute("SELECT * FROM run ORDER BY id").fetchall() == con.execute(
        f"SELECT * FROM ({run_sql(con, run_dir)}) ORDER BY id").fetchall()
