"""Tables over a generated manifest against a plain-Python computation of the same."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from statistics import mean

import pyarrow.parquet as pq
import pytest

from stats.definitions import LENGTH_BUCKETS
from stats.rollups import update_rollups
from stats.tables import compute_tables
from stats.views import connect, create_run_views

SIDES = {"caption": "", "alt_text": "alt_"}


@pytest.fixture(params=["on_the_fly", "rollup_files"])
def tables(request: pytest.FixtureRequest, random_run: Path):
    """The tables rolled up from the captions view, and from the run's rollup files:
    every check below holds for both."""
    con = connect()
    create_run_views(con, random_run)
    if request.param == "on_the_fly":
        return compute_tables(con)
    rollup = update_rollups(random_run).run_rollup
    assert rollup is not None
    return compute_tables(con, rollup=rollup)


def _rows(run: Path) -> list[dict]:
    rows = []
    for path in sorted((run / "manifests").glob("*.parquet")):
        rows.extend(pq.read_table(path).to_pylist())
    return rows


def _groups(kept: list[dict]) -> dict[tuple[str, str], list[dict]]:
    groups: dict[tuple[str, str], list[dict]] = {("all", "all"): kept}
    for row in kept:
        groups.setdefault(("source", row["source"] or "(none)"), []).append(row)
        groups.setdefault(("captioner", row["caption_model"] or "(none)"), []).append(row)
    return groups


def _avg(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return mean(values) if values else None


def _bucket(words: int) -> str:
    for label, low, high in LENGTH_BUCKETS:
        if words >= low and (high is None or words < high):
            return label
    raise AssertionError(words)


def test_summary_matches_plain_python(random_run: Path, tables) -> None:
    kept = [r for r in _rows(random_run) if r["status"] == "kept"]
    expected = {}
    for (grouping, group), rows in _groups(kept).items():
        for side, p in SIDES.items():
            texts = [r for r in rows if r[f"{p}n_words"] is not None]
            noun_texts = Counter(n for r in rows for n in (r[f"{p}nouns"] or []))
            buckets = Counter(_bucket(r[f"{p}n_words"]) for r in texts)
            expected[(grouping, group, side)] = {
                "images": len(rows),
                "mean_short_side": _avg([r["short_edge"] for r in rows]),
                "texts": len(texts),
                **{f"mean_{n}": _avg([r[f"{p}n_{n}"] for r in rows])
                   for n in ("words", "nouns", "adj_adv", "prep", "clip_tokens", "sentences")},
                "distinct_nouns": len(noun_texts),
                "frequent_nouns": sum(1 for c in noun_texts.values() if c > 10),
                **{f"words_{label}": buckets[label] for label, _, _ in LENGTH_BUCKETS},
            }
    got = {(r.pop("grouping"), r.pop("group"), r.pop("text")): r
           for r in tables["summary"].to_pylist()}
    assert set(got) == set(expected)
    assert len(got) == 2 * (1 + 2 + 3)  # all, 2 sources, 3 captioners (one is "(none)")
    for key, want in expected.items():
        assert got[key] == pytest.approx(want), key


def test_table1_and_ella_are_views_of_the_summary(tables) -> None:
    assert tables["table1"].column_names == [
        "grouping", "group", "text", "images", "mean_short_side", "mean_words", "mean_nouns",
    ]
    assert "distinct_nouns" in tables["ella"].column_names
    assert tables["ella"].column("mean_clip_tokens") == tables["summary"].column(
        "mean_clip_tokens"
    )


def test_noun_table_matches_plain_python(random_run: Path, tables) -> None:
    kept = [r for r in _rows(random_run) if r["status"] == "kept"]
    for side, p in SIDES.items():
        counts = Counter(n for r in kept for n in (r[f"{p}nouns"] or []))
        n_texts = sum(1 for r in kept if r[f"{p}n_words"] is not None)
        got = [r for r in tables["nouns"].to_pylist() if r["text"] == side]
        assert {r["noun"]: r["texts_with_noun"] for r in got} == dict(counts)
        assert [r["rank"] for r in got] == list(range(1, len(got) + 1))
        assert [r["texts_with_noun"] for r in got] == sorted(counts.values(), reverse=True)
        for r in got:
            assert r["share"] == pytest.approx(counts[r["noun"]] / n_texts)


def test_word_table_matches_plain_python(random_run: Path, tables) -> None:
    kept = [r for r in _rows(random_run) if r["status"] == "kept"]
    for side in SIDES:
        words = Counter()
        for r in kept:
            for piece in (r[side] or "").split():
                word = re.sub(r"^[\W_]+|[\W_]+$", "", piece).lower()
                if word:
                    words[word] += 1
        got = {r["word"]: r["occurrences"] for r in tables["words"].to_pylist()
               if r["text"] == side}
        assert got == dict(words)
    # "Table", "table,", "(sky)", "window.", "café,"; inner "_" stays, edge punctuation goes.
    assert {"table", "sky", "window", "café", "ünïcode", "snake_case"} <= set(got)


def test_length_buckets_and_histogram(random_run: Path, tables) -> None:
    kept = [r for r in _rows(random_run) if r["status"] == "kept"]
    words = [r["n_words"] for r in kept if r["n_words"] is not None]
    buckets = {r["bucket"]: r for r in tables["length_buckets"].to_pylist()
               if r["grouping"] == "all" and r["text"] == "caption"}
    for label, count in Counter(_bucket(w) for w in words).items():
        assert buckets[label]["texts"] == count
        assert buckets[label]["share"] == pytest.approx(count / len(words))
    hist = {r["bin_start"]: r["texts"] for r in tables["length_histogram"].to_pylist()
            if r["text"] == "caption"}
    assert hist == dict(Counter(min(w, 300) // 5 * 5 for w in words))


@pytest.mark.parametrize(("words", "bucket"), [(0, "<25"), (24, "<25"), (25, "25-50"),
                                               (150, "150-200"), (200, "150-200"),
                                               (201, ">200")])
def test_bucket_edges(words: int, bucket: str) -> None:
    assert _bucket(words) == bucket


def test_funnel_reconciles(random_run: Path, tables) -> None:
    rows = _rows(random_run)
    funnel = tables["funnel"].to_pylist()
    assert sum(r["n"] for r in funnel) == len(rows)
    for source in ("laion", "sa1b"):
        mine = [r for r in funnel if r["source"] == source]
        assert sum(r["share_of_source"] for r in mine) == pytest.approx(1.0)
        assert {r["status"] for r in mine} == {"kept", "rejected", "error"}
    errors = [r for r in funnel if r["status"] == "error"]
    # the error kind (before the first ":"), as the summary and the funnel count it
    assert {r["reason"] for r in errors} == {"decode failed"}
    rejected = Counter(r["reject_reason"] for r in rows if r["status"] == "rejected")
    assert {r["reason"]: 0 for r in funnel if r["status"] == "rejected"}.keys() == rejected.keys()


def test_tables_of_a_run_without_kept_rows(tmp_path: Path) -> None:
    from stats_helpers import make_run, manifest_row

    run = make_run(tmp_path / "run", {"s": [manifest_row(status="rejected", key=str(i),
                                                          reject_reason="x") for i in range(3)]})
    con = connect()
    create_run_views(con, run)
    tables = compute_tables(con)
    (overall,) = [r for r in tables["summary"].to_pylist() if r["text"] == "caption"]
    assert overall["images"] == 0 and overall["mean_words"] is None
    assert tables["nouns"].num_rows == 0 and tables["words"].num_rows == 0
