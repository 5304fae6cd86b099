from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from stats_helpers import make_run, manifest_row, write_manifest

from stats.inputs import StatsInputError
from stats.views import VIEW_NAMES, connect, create_file_views, create_run_views


def _count(con, sql: str) -> int:
    return con.execute(sql).fetchall()[0][0]


def test_views_split_rows_by_status(random_run: Path) -> None:
    con = connect()
    create_run_views(con, random_run)
    total = _count(con, "SELECT count(*) FROM manifest")
    assert total == 750
    parts = [_count(con, f"SELECT count(*) FROM {v}") for v in ("captions", "rejected", "errors")]
    assert sum(parts) == total and all(parts)
    assert _count(con, "SELECT count(*) FROM captions WHERE status <> 'kept'") == 0
    assert _count(con, "SELECT sum(n) FROM funnel") == total


def test_nouns_view_has_one_row_per_caption_noun(random_run: Path) -> None:
    con = connect()
    create_run_views(con, random_run)
    assert _count(con, "SELECT count(*) FROM nouns") == _count(
        con, "SELECT sum(len(nouns)) FROM captions"
    )
    assert _count(con, "SELECT count(*) FROM alt_nouns") == _count(
        con, "SELECT sum(len(alt_nouns)) FROM captions"
    )
    assert set(con.execute("DESCRIBE nouns").fetchnumpy()["column_name"]) == {
        "id", "source", "caption_model", "noun",
    }


def test_all_views_exist(random_run: Path) -> None:
    con = connect()
    create_run_views(con, random_run)
    for view in VIEW_NAMES:
        con.execute(f"SELECT * FROM {view} LIMIT 1").fetchall()


def test_recomputed_stats_replace_the_manifests_own(tmp_path: Path) -> None:
    rows = [manifest_row(key=str(i), caption="A dog.", n_words=99) for i in range(3)]
    run = make_run(tmp_path / "run", {"s": rows})
    recomputed = run / "stats" / "text_stats"
    recomputed.mkdir(parents=True)
    pq.write_table(pa.table({
        "id": [rows[0]["id"], rows[1]["id"]],
        "n_words": pa.array([2, 2], pa.int32()),
        "nouns": pa.array([["dog"], ["dog"]], pa.list_(pa.string())),
    }), recomputed / "part.parquet")
    con = connect()
    create_run_views(con, run)
    got = con.execute("SELECT n_words, nouns FROM captions ORDER BY source_key").fetchall()
    assert got == [(2, ["dog"]), (2, ["dog"]), (None, None)]  # third row: not recomputed
    assert _count(con, "SELECT count(*) FROM manifest") == 3  # the join adds no rows


def test_old_manifest_without_stat_columns_reads_null(tmp_path: Path) -> None:
    manifests = tmp_path / "run" / "manifests"
    manifests.mkdir(parents=True)
    pq.write_table(pa.table({"id": ["a"], "source": ["s"], "status": ["kept"],
                             "caption": ["A dog."]}), manifests / "old.parquet")
    con = connect()
    create_run_views(con, tmp_path / "run")
    assert con.execute("SELECT alt_n_words, nouns, short_edge FROM captions").fetchall() == [
        (None, None, None)
    ]


def test_no_manifests_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StatsInputError, match="no manifests found"):
        create_run_views(connect(), tmp_path)


def test_unreadable_parquet_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / "broken.parquet").write_bytes(b"not parquet")
    with pytest.raises(StatsInputError, match="cannot read"):
        create_run_views(connect(), tmp_path)
    with pytest.raises(StatsInputError, match="no statistics files"):
        create_file_views(connect(), [])


def test_caption_variants_view_has_one_row_per_caption(tmp_path: Path) -> None:
    def variant(captioner: str, name: str, words: int) -> dict:
        return {"captioner": captioner, "variant": name, "model": f"org/{captioner}",
                "prompt": "p", "target_words": words, "params": "{}", "status": "ok",
                "reason": None, "caption": "a dog", "caption_raw": "a dog",
                "finish_reason": "stop", "flags": [], "n_tokens": 3, "n_words": 2}

    rows = [
        manifest_row("laion", "a", caption_variants=[variant("llava", "150w", 150),
                                                     variant("llava", "10w", 10),
                                                     variant("cogvlm", "150w", 150)]),
        manifest_row("laion", "b", caption_variants=[variant("llava", "150w", 150)]),
        manifest_row("laion", "c", status="rejected",
                     caption_variants=[variant("llava", "150w", 150)]),
        manifest_row("laion", "d"),  # no captions at all
    ]
    write_manifest(tmp_path / "run" / "manifests" / "s.parquet", rows)
    con = connect()
    create_run_views(con, tmp_path / "run")
    assert con.execute(
        "SELECT captioner, variant, target_words, count(*) FROM caption_variants "
        "GROUP BY ALL ORDER BY ALL"
    ).fetchall() == [("cogvlm", "150w", 150, 1), ("llava", "10w", 10, 1),
                     ("llava", "150w", 150, 2)]
