"""Dataset tables with DuckDB over the ``captions`` view (kept rows; see views.py).

Every table but the funnel (a view over all rows) and the word table (which reads the
texts) is a sum over kept rows, so all of them come from one rollup (rollups.py):
images, sums and counts of each statistic, capped word-count histograms and texts per
noun, per (source, captioner) and text side. A run's rollups are written per manifest
and merged here, a few thousand rows per shard; inputs without them (plain text files,
recomputed statistics) are rolled up on the fly by the same SQL, in two scans of the
``captions`` view (the integer columns, then an unnest of the noun lists).

Results are small (one row per group, per noun or per bucket) and come back as Arrow
tables. Groupings: ``all`` (the whole dataset), ``source`` and ``captioner``
(caption_model); a NULL group value reads "(none)". Text sides: ``caption`` and
``alt_text`` (the same images' source alt-text), computed with one definition, side by
side.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from stats.definitions import (
    ALT_TEXT_SIDE,
    CAPTION_SIDE,
    COUNT_FIELDS,
    FREQUENT_NOUN_MIN_TEXTS,
    LENGTH_BUCKETS,
    SIDE_PREFIX,
)
from stats.rollups import (
    HISTOGRAM_MAX_WORDS,
    MEASURE_HIST,
    MEASURE_IMAGES,
    MEASURE_NOUN,
    rollup_sql,
)
from stats.views import sql_list

GROUPINGS = ("all", "source", "captioner")
NONE_GROUP = "(none)"
# Word histogram for the length plot: bins of this many words, the last one open.
HISTOGRAM_BIN_WORDS = 5
# The word table keeps the most frequent words per side (the tail is typos and ids).
MAX_WORDS_PER_SIDE = 10_000

SIDES = (CAPTION_SIDE, ALT_TEXT_SIDE)
# RE2 (DuckDB) classes: \s alone is ASCII, so Unicode separators are added to match
# Python's str.split(); \w alone is ASCII too, so letters and digits are named.
_SPACE = r"[\s\p{Z}]+"
_EDGE_PUNCT = r"^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$"
_MEANS = {name: f"mean_{name[2:]}" for name in COUNT_FIELDS}  # n_words -> mean_words
# GROUPING(source, caption_model): 3 = grand total, 1 = by source, 2 = by captioner.
_GROUPING_SQL = """CASE GROUPING(source, caption_model)
        WHEN 3 THEN 'all' WHEN 1 THEN 'source' ELSE 'captioner' END"""
_GROUP_SQL = """CASE GROUPING(source, caption_model)
        WHEN 3 THEN 'all' WHEN 1 THEN coalesce(source, '(none)')
        ELSE coalesce(caption_model, '(none)') END"""
# The merged rollup a tables call leaves on its connection (recreated each call).
_ROLLUP_TABLE = "stats_rollup"

FineGroup = dict[str, Any]


def load_rollup(con: duckdb.DuckDBPyConnection, rollups: Sequence[Path] | None = None) -> None:
    """``stats_rollup``: the rollup of the kept rows, summed over ``rollups`` (a run's
    fresh rollup files, rollups.py) or, without them, computed from ``captions``."""
    if rollups is None:
        body = rollup_sql(con, "captions", by_file=False)
    elif rollups:
        body = f"SELECT * FROM read_parquet({sql_list(rollups)})"
    else:
        body = "SELECT NULL::VARCHAR AS source, NULL::VARCHAR AS caption_model, " \
               "NULL::VARCHAR AS text, NULL::VARCHAR AS measure, NULL::VARCHAR AS key, " \
               "NULL::BIGINT AS value LIMIT 0"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {_ROLLUP_TABLE} AS
        SELECT source, caption_model, text, measure, key, sum(value)::BIGINT AS value
        FROM ({body}) GROUP BY ALL
    """)


def _fine_groups(con: duckdb.DuckDBPyConnection) -> list[FineGroup]:
    """Per (source, caption_model): images, ``sum_``/``n_`` of short_edge and of every
    statistic (with the side's column prefix: ``sum_alt_n_words``) and ``hist_<side>``:
    {capped word count: texts}. Everything but the nouns: a few hundred rows."""
    rows = con.execute(
        f"SELECT source, caption_model, text, measure, key, value FROM {_ROLLUP_TABLE} "
        f"WHERE measure <> '{MEASURE_NOUN}'"
    ).fetchall()
    groups: dict[tuple[str | None, str | None], FineGroup] = {}
    for source, model, side, measure, key, value in rows:
        group = groups.setdefault((source, model), {
            "source": source, "caption_model": model,
            **{f"hist_{s}": {} for s in SIDES},
        })
        if measure == MEASURE_HIST:
            group[f"hist_{side}"][int(key)] = value
        elif measure == MEASURE_IMAGES:
            group["images"] = value
        else:  # sum_n_words + side "alt_text" -> sum_alt_n_words
            kind, _, field = measure.partition("_")
            group[f"{kind}_{SIDE_PREFIX[side] if side else ''}{field}"] = value
    return list(groups.values())


def _group_keys(source: str | None, model: str | None) -> list[tuple[str, str]]:
    return [("all", "all"), ("source", source or NONE_GROUP),
            ("captioner", model or NONE_GROUP)]


def _bucket_index(words: int) -> int:
    """The LENGTH_BUCKETS index of a word count, as the SQL CASE of the tables had it:
    the first bucket whose upper bound exceeds it (negative counts land in the first)."""
    for i, (_, _, high) in enumerate(LENGTH_BUCKETS):
        if high is not None and words < high:
            return i
    return len(LENGTH_BUCKETS) - 1


def _bin_start(words: int) -> int:
    """``least(words, HISTOGRAM_MAX_WORDS) // BIN * BIN`` with SQL's integer division,
    which truncates toward zero (Python's ``//`` floors)."""
    capped = min(words, HISTOGRAM_MAX_WORDS)
    start = abs(capped) // HISTOGRAM_BIN_WORDS * HISTOGRAM_BIN_WORDS
    return start if capped >= 0 else -start


def summary_table(
    con: duckdb.DuckDBPyConnection, rollups: Sequence[Path] | None = None
) -> pa.Table:
    """One row per (grouping, group, text side): images, mean short side, texts, mean
    words/nouns/adj-adv/preps/CLIP tokens/sentences, length-bucket counts, and the
    distinct nouns (DN) and nouns in more than 10 texts (VN) of the group."""
    load_rollup(con, rollups)
    return _summary(_fine_groups(con), _noun_diversity(con))


def _summary(
    fine: list[FineGroup], nouns: dict[tuple[str, str, str], tuple[int, int]]
) -> pa.Table:
    """The summary rolled up from the fine groups."""
    totals: dict[tuple[str, str], dict[str, int]] = {("all", "all"): {"images": 0}}
    buckets: dict[tuple[str, str, str, int], int] = {}
    for row in fine:
        keys = _group_keys(row["source"], row["caption_model"])
        for key in keys:
            acc = totals.setdefault(key, {})
            for name, value in row.items():
                if name.startswith(("sum_", "n_")) or name == "images":
                    acc[name] = acc.get(name, 0) + (value or 0)
        for side in SIDES:
            for words, n in row[f"hist_{side}"].items():
                b = _bucket_index(words)
                for grouping, group in keys:
                    bucket = (grouping, group, side, b)
                    buckets[bucket] = buckets.get(bucket, 0) + n
    rows = []
    for (grouping, group), acc in totals.items():
        for side, p in SIDE_PREFIX.items():
            out: dict = {
                "grouping": grouping, "group": group, "text": side,
                "images": int(acc.get("images", 0)),
                "mean_short_side": _ratio(acc, "short_edge"),
                "texts": int(acc.get(f"n_{p}n_words", 0)),
            }
            out.update({_MEANS[n]: _ratio(acc, p + n) for n in COUNT_FIELDS})
            out["distinct_nouns"], out["frequent_nouns"] = nouns.get(
                (grouping, group, side), (0, 0)
            )
            for i, (label, _, _) in enumerate(LENGTH_BUCKETS):
                out[f"words_{label}"] = buckets.get((grouping, group, side, i), 0)
            rows.append(out)
    rows.sort(key=lambda r: (GROUPINGS.index(r["grouping"]), r["group"], SIDES.index(r["text"])))
    return pa.Table.from_pylist(rows, schema=_summary_schema())


def _ratio(acc: dict[str, float], column: str) -> float | None:
    n = acc.get(f"n_{column}", 0)
    return acc[f"sum_{column}"] / n if n else None


def _summary_schema() -> pa.Schema:
    fields = [
        pa.field("grouping", pa.string()),
        pa.field("group", pa.string()),
        pa.field("text", pa.string()),
        pa.field("images", pa.int64()),
        pa.field("mean_short_side", pa.float64()),
        pa.field("texts", pa.int64()),
    ]
    fields += [pa.field(_MEANS[n], pa.float64()) for n in COUNT_FIELDS]
    fields += [pa.field("distinct_nouns", pa.int64()), pa.field("frequent_nouns", pa.int64())]
    fields += [pa.field(f"words_{label}", pa.int64()) for label, _, _ in LENGTH_BUCKETS]
    return pa.schema(fields)


def _noun_diversity(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str, str], tuple[int, int]]:
    """DN and VN per (grouping, group, side), from the rollup's texts per noun."""
    rows = con.execute(f"""
        SELECT grouping, "group", text, count(*) AS dn,
               count(*) FILTER (n > {FREQUENT_NOUN_MIN_TEXTS}) AS vn
        FROM (
            SELECT {_GROUPING_SQL} AS grouping, {_GROUP_SQL} AS "group", text, key AS noun,
                   sum(value) AS n
            FROM {_ROLLUP_TABLE} WHERE measure = '{MEASURE_NOUN}'
            GROUP BY GROUPING SETS ((text, key), (text, source, key), (text, caption_model, key))
        ) GROUP BY ALL
    """).fetchall()
    return {(g, grp, text): (dn, vn) for g, grp, text, dn, vn in rows}


def noun_table(
    con: duckdb.DuckDBPyConnection, rollups: Sequence[Path] | None = None
) -> pa.Table:
    """Every noun per text side: texts containing it, their share, and its rank."""
    load_rollup(con, rollups)
    return _noun_table(con)


def _noun_table(con: duckdb.DuckDBPyConnection) -> pa.Table:
    # Texts per side are the non-null word counts of the rollup: no scan of the captions.
    return con.sql(f"""
        WITH totals AS (
            SELECT text, sum(value)::BIGINT AS texts
            FROM {_ROLLUP_TABLE} WHERE measure = 'n_n_words' GROUP BY text
        ), nouns AS (
            SELECT text, key AS noun, sum(value)::BIGINT AS texts_with_noun
            FROM {_ROLLUP_TABLE} WHERE measure = '{MEASURE_NOUN}' GROUP BY ALL
        )
        SELECT text, row_number() OVER (PARTITION BY text
                                        ORDER BY texts_with_noun DESC, noun) AS rank,
               noun, texts_with_noun, texts_with_noun / totals.texts AS share
        FROM nouns JOIN totals USING (text)
        ORDER BY text, rank
    """).to_arrow_table()


def word_table(con: duckdb.DuckDBPyConnection, limit: int = MAX_WORDS_PER_SIDE) -> pa.Table:
    """Most frequent words per side: lower-cased whitespace pieces with leading and
    trailing characters other than letters and digits stripped ("Table," -> "table");
    occurrences, not texts."""
    selects = [
        f"SELECT '{side}' AS text, unnest(regexp_split_to_array({side}, '{_SPACE}')) AS piece"
        " FROM captions"
        for side in SIDES
    ]
    return con.sql(f"""
        WITH words AS (
            SELECT text, lower(regexp_replace(piece, '{_EDGE_PUNCT}', '', 'g')) AS word
            FROM ({" UNION ALL ".join(selects)})
        ), counted AS (
            SELECT text, word, count(*) AS occurrences FROM words WHERE word <> '' GROUP BY ALL
        )
        SELECT text, row_number() OVER (PARTITION BY text
                                        ORDER BY occurrences DESC, word) AS rank,
               word, occurrences
        FROM counted QUALIFY rank <= {int(limit)}
        ORDER BY text, rank
    """).to_arrow_table()


def length_bucket_table(summary: pa.Table) -> pa.Table:
    """Long form of the summary's bucket counts: share of texts per length bucket."""
    rows = []
    for row in summary.to_pylist():
        for label, _, _ in LENGTH_BUCKETS:
            n = row[f"words_{label}"]
            rows.append({
                "grouping": row["grouping"], "group": row["group"], "text": row["text"],
                "bucket": label, "texts": n,
                "share": n / row["texts"] if row["texts"] else None,
            })
    return pa.Table.from_pylist(rows)


def length_histogram(
    con: duckdb.DuckDBPyConnection, rollups: Sequence[Path] | None = None
) -> pa.Table:
    """Texts per bin of ``HISTOGRAM_BIN_WORDS`` words (the last bin holds the rest)."""
    load_rollup(con, rollups)
    return _histogram(_fine_groups(con))


def _histogram(fine: list[FineGroup]) -> pa.Table:
    counts: dict[tuple[str, int], int] = {}
    for row in fine:
        for side in SIDES:
            for words, n in row[f"hist_{side}"].items():
                key = (side, _bin_start(words))
                counts[key] = counts.get(key, 0) + n
    keys = sorted(counts)  # by side name, then bin, as the SQL's ORDER BY text, bin_start
    return pa.table({
        "text": pa.array([side for side, _ in keys], pa.string()),
        "bin_start": pa.array([start for _, start in keys], pa.int32()),
        "texts": pa.array([counts[k] for k in keys], pa.int64()),
    })


def funnel_table(con: duckdb.DuckDBPyConnection) -> pa.Table:
    return con.sql("SELECT * FROM funnel").to_arrow_table()


def table1_view(summary: pa.Table) -> pa.Table:
    """ParaDiffusion Table 1 columns."""
    return summary.select(
        ["grouping", "group", "text", "images", "mean_short_side", "mean_words", "mean_nouns"]
    )


def ella_view(summary: pa.Table) -> pa.Table:
    """ELLA Tables 1-2 columns: DN, words, NN, JJ/RB, IN, CLIP tokens (plus VN)."""
    return summary.select([
        "grouping", "group", "text", "texts", "distinct_nouns", "frequent_nouns", "mean_words",
        "mean_nouns", "mean_adj_adv", "mean_prep", "mean_clip_tokens", "mean_sentences",
    ])


def compute_tables(
    con: duckdb.DuckDBPyConnection, words: bool = True, rollups: Sequence[Path] | None = None
) -> dict[str, pa.Table]:
    """All tables, by file name stem. ``words=False`` skips the word-frequency table,
    the one that reads the texts themselves. ``rollups``: the run's fresh rollup files
    (``rollups.update_rollups``); without them the ``captions`` view is rolled up here.

    One rollup feeds every table but the funnel (a view over all rows) and the words."""
    load_rollup(con, rollups)
    fine = _fine_groups(con)
    summary = _summary(fine, _noun_diversity(con))
    tables = {
        "summary": summary,
        "table1": table1_view(summary),
        "ella": ella_view(summary),
        "length_buckets": length_bucket_table(summary),
        "length_histogram": _histogram(fine),
        "nouns": _noun_table(con),
        "funnel": funnel_table(con),
    }
    if words:
        tables["words"] = word_table(con)
    return tables
