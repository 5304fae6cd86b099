"""Dataset tables with DuckDB over the ``captions`` view (kept rows; see views.py).

What costs time over a big manifest is reading columns and hashing rows, so the
statistics tables read the manifest twice, whatever the number of groups (the funnel,
a view over all rows, and the word table, which reads the texts, once more each):

1. One scan of the integer columns at the finest grouping (source x captioner): sums
   and counts for every mean, and per group a histogram of exact word counts (capped
   at ``_WORD_CAP``), from which the length buckets and the length histogram are
   both derived. Every coarser grouping is a sum of those few rows.
2. One unnest of the noun lists into a small table of (side, group, noun, texts),
   keyed by one dense integer for side and group rather than by strings. DN, VN and
   the noun table all come from that table. This hash aggregate over ~30M nouns per
   million captions is most of the time; reading the noun lists alone is ~20x a
   one-column scan.

Results are small (one row per group, per noun or per bucket) and come back as Arrow
tables. Groupings: ``all`` (the whole dataset), ``source`` and ``captioner``
(caption_model); a NULL group value reads "(none)". Text sides: ``caption`` and
``alt_text`` (the same images' source alt-text), computed with one definition, side by
side.
"""

from __future__ import annotations

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

GROUPINGS = ("all", "source", "captioner")
NONE_GROUP = "(none)"
# Word histogram for the length plot: bins of this many words, the last one open.
HISTOGRAM_BIN_WORDS = 5
HISTOGRAM_MAX_WORDS = 300
# The word table keeps the most frequent words per side (the tail is typos and ids).
MAX_WORDS_PER_SIDE = 10_000

SIDES = (CAPTION_SIDE, ALT_TEXT_SIDE)
# RE2 (DuckDB) classes: \s alone is ASCII, so Unicode separators are added to match
# Python's str.split(); \w alone is ASCII too, so letters and digits are named.
_SPACE = r"[\s\p{Z}]+"
_EDGE_PUNCT = r"^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$"
_MEANS = {name: f"mean_{name[2:]}" for name in COUNT_FIELDS}  # n_words -> mean_words
# Word counts are histogrammed exactly below this cap and lumped at it: every count at
# or past it falls in the last histogram bin and in the open last length bucket, so
# both tables come exactly from one capped histogram.
_WORD_CAP = max(HISTOGRAM_MAX_WORDS, *(high for _, _, high in LENGTH_BUCKETS if high is not None))
# GROUPING(source, caption_model): 3 = grand total, 1 = by source, 2 = by captioner.
_GROUPING_SQL = """CASE GROUPING(source, caption_model)
        WHEN 3 THEN 'all' WHEN 1 THEN 'source' ELSE 'captioner' END"""
_GROUP_SQL = """CASE GROUPING(source, caption_model)
        WHEN 3 THEN 'all' WHEN 1 THEN coalesce(source, '(none)')
        ELSE coalesce(caption_model, '(none)') END"""
# Small tables a compute_tables call leaves on its connection (recreated each call).
_GROUPS_TABLE = "stats_fine_groups"
_NOUN_COUNTS_TABLE = "stats_noun_counts"

FineGroup = dict[str, Any]


def _create_fine_groups(con: duckdb.DuckDBPyConnection) -> list[FineGroup]:
    """Per (source, caption_model), from one scan of integer columns: images, sums and
    counts of every statistic, and ``hist_<side>``: {capped word count: texts}.

    Also kept as ``stats_fine_groups`` with a dense ``gid``, which the noun counts
    group by (and which gives the noun table its per-side text totals)."""
    sums = ", ".join(
        f"sum({p}{n})::BIGINT AS \"sum_{p}{n}\", count({p}{n}) AS \"n_{p}{n}\""
        for p in SIDE_PREFIX.values() for n in COUNT_FIELDS
    )
    hists = ", ".join(
        # Not least(): it skips NULLs, so least(NULL, cap) is cap, not a missing text.
        f"histogram(if({p}n_words > {_WORD_CAP}, {_WORD_CAP}, {p}n_words)) AS \"hist_{side}\""
        for side, p in SIDE_PREFIX.items()
    )
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {_GROUPS_TABLE} AS
        SELECT (row_number() OVER () - 1)::INTEGER AS gid, *
        FROM (
            SELECT source, caption_model, count(*) AS images,
                   sum(short_edge)::BIGINT AS sum_short_edge, count(short_edge) AS n_short_edge,
                   {sums}, {hists}
            FROM captions GROUP BY ALL
        )
    """)
    rows = con.sql(f"SELECT * EXCLUDE (gid) FROM {_GROUPS_TABLE}").to_arrow_table().to_pylist()
    for row in rows:  # Arrow maps come back as (key, value) pairs; NULL when no texts
        for side in SIDES:
            row[f"hist_{side}"] = dict(row[f"hist_{side}"] or ())
    return rows


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


def summary_table(con: duckdb.DuckDBPyConnection, diversity: bool = True) -> pa.Table:
    """One row per (grouping, group, text side): images, mean short side, texts, mean
    words/nouns/adj-adv/preps/CLIP tokens/sentences, length-bucket counts, and the
    distinct nouns (DN) and nouns in more than 10 texts (VN) of the group.

    DN and VN need every noun of every text (the costly part: an unnest of the noun
    lists); ``diversity=False`` leaves them null and reads integer columns only."""
    fine = _create_fine_groups(con)
    if not diversity:
        return _summary(fine, None)
    _create_noun_counts(con)
    return _summary(fine, _noun_diversity(con))


def _summary(
    fine: list[FineGroup], nouns: dict[tuple[str, str, str], tuple[int, int]] | None
) -> pa.Table:
    """The summary rolled up from the fine groups (``nouns`` None: DN/VN left null)."""
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
            if nouns is None:
                out["distinct_nouns"] = out["frequent_nouns"] = None
            else:
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


def _create_noun_counts(con: duckdb.DuckDBPyConnection) -> None:
    """``stats_noun_counts``: texts containing each noun, per text side, source and
    captioner (noun lists hold each text's distinct nouns, so occurrences are texts).

    Needs ``stats_fine_groups``. The unnest repeats each row's group once per noun, so
    the group and the side travel as one small integer (gid * 2 + side), joined on
    before the unnest; the aggregate's result (tens of thousands of rows) is named
    from the same table, so no second scan of the captions is needed to name groups.
    """
    join = (f"JOIN {_GROUPS_TABLE} g ON c.source IS NOT DISTINCT FROM g.source "
            "AND c.caption_model IS NOT DISTINCT FROM g.caption_model")
    selects = [
        f"SELECT g.gid * 2 + {k} AS key, unnest(c.{SIDE_PREFIX[side]}nouns) AS noun "
        f"FROM captions c {join}"
        for k, side in enumerate(SIDES)
    ]
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {_NOUN_COUNTS_TABLE} AS
        WITH counted AS (
            SELECT key, noun, count(*) AS n FROM ({" UNION ALL ".join(selects)}) GROUP BY ALL
        )
        SELECT CASE key % 2 WHEN 0 THEN '{SIDES[0]}' ELSE '{SIDES[1]}' END AS text,
               g.source, g.caption_model, noun, n
        FROM counted JOIN {_GROUPS_TABLE} g ON counted.key // 2 = g.gid
    """)


def _noun_diversity(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str, str], tuple[int, int]]:
    """DN and VN per (grouping, group, side), from ``stats_noun_counts``."""
    rows = con.execute(f"""
        SELECT grouping, "group", text, count(*) AS dn,
               count(*) FILTER (n > {FREQUENT_NOUN_MIN_TEXTS}) AS vn
        FROM (
            SELECT {_GROUPING_SQL} AS grouping, {_GROUP_SQL} AS "group", text, noun, sum(n) AS n
            FROM {_NOUN_COUNTS_TABLE}
            GROUP BY GROUPING SETS ((text, noun), (text, source, noun), (text, caption_model, noun))
        ) GROUP BY ALL
    """).fetchall()
    return {(g, grp, text): (dn, vn) for g, grp, text, dn, vn in rows}


def noun_table(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """Every noun per text side: texts containing it, their share, and its rank."""
    _create_fine_groups(con)
    _create_noun_counts(con)
    return _noun_table(con)


def _noun_table(con: duckdb.DuckDBPyConnection) -> pa.Table:
    # Texts per side are the fine groups' non-null word counts: no scan of the captions.
    return con.sql(f"""
        WITH totals AS (
            SELECT '{CAPTION_SIDE}' AS text, sum(n_n_words)::BIGINT AS texts
            FROM {_GROUPS_TABLE}
            UNION ALL SELECT '{ALT_TEXT_SIDE}', sum(n_alt_n_words)::BIGINT FROM {_GROUPS_TABLE}
        ), nouns AS (
            SELECT text, noun, sum(n)::BIGINT AS texts_with_noun
            FROM {_NOUN_COUNTS_TABLE} GROUP BY ALL
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


def length_histogram(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """Texts per bin of ``HISTOGRAM_BIN_WORDS`` words (the last bin holds the rest)."""
    return _histogram(_create_fine_groups(con))


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


def compute_tables(con: duckdb.DuckDBPyConnection, words: bool = True) -> dict[str, pa.Table]:
    """All tables, by file name stem. ``words=False`` skips the word-frequency table,
    the one that reads the texts themselves (the others read integer and noun columns).

    One scan of the integer columns and one unnest of the noun lists feed every table
    but the funnel (a view over all rows) and the words."""
    fine = _create_fine_groups(con)
    _create_noun_counts(con)
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
