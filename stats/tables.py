"""Dataset tables with DuckDB over the ``captions`` view (kept rows; see views.py).

Each table is one SQL statement that scans only the columns it needs, and the
statistics' means come from a single scan at the finest grouping (source x captioner)
rolled up to the others, so the tables cost a few scans of integer columns however
many groups there are; only DN/VN and the noun table read every noun. Results
are small (one row per group, per noun or per bucket) and come back as Arrow tables.

Groupings: ``all`` (the whole dataset), ``source`` and ``captioner`` (caption_model);
a NULL group value reads "(none)". Text sides: ``caption`` and ``alt_text`` (the same
images' source alt-text), computed with one definition, side by side.
"""

from __future__ import annotations

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
# GROUPING(source, caption_model): 3 = grand total, 1 = by source, 2 = by captioner.
# (Used on the small noun-count table; the summary rolls its fine groups up in Python.)
_GROUPING_SQL = """CASE GROUPING(source, caption_model)
        WHEN 3 THEN 'all' WHEN 1 THEN 'source' ELSE 'captioner' END"""
_GROUP_SQL = """CASE GROUPING(source, caption_model)
        WHEN 3 THEN 'all' WHEN 1 THEN coalesce(source, '(none)')
        ELSE coalesce(caption_model, '(none)') END"""


def _bucket_sql(column: str) -> str:
    cases = " ".join(
        f"WHEN {column} < {high} THEN {i}"
        for i, (_, _, high) in enumerate(LENGTH_BUCKETS) if high is not None
    )
    return f"CASE {cases} ELSE {len(LENGTH_BUCKETS) - 1} END"


def _fine_groups(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Sums and counts per (source, caption_model): one scan; every grouping is a sum of
    these few rows, so means roll up exactly without GROUPING SETS re-aggregating."""
    sums = ", ".join(
        f"sum({p}{n})::BIGINT AS \"sum_{p}{n}\", count({p}{n}) AS \"n_{p}{n}\""
        for p in SIDE_PREFIX.values() for n in COUNT_FIELDS
    )
    return con.sql(f"""
        SELECT source, caption_model, count(*) AS images, sum(short_edge)::BIGINT AS sum_short_edge,
               count(short_edge) AS n_short_edge, {sums}
        FROM captions GROUP BY ALL
    """).to_arrow_table().to_pylist()


def _fine_buckets(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """(side, source, caption_model, bucket index, texts): two scans of one column."""
    selects = [
        f"SELECT '{side}' AS text, source, caption_model, {_bucket_sql(p + 'n_words')} AS b, "
        f"count(*) AS n FROM captions WHERE {p}n_words IS NOT NULL GROUP BY ALL"
        for side, p in SIDE_PREFIX.items()
    ]
    return con.execute(" UNION ALL ".join(selects)).fetchall()


def _group_keys(source: str | None, model: str | None) -> list[tuple[str, str]]:
    return [("all", "all"), ("source", source or NONE_GROUP),
            ("captioner", model or NONE_GROUP)]


def summary_table(con: duckdb.DuckDBPyConnection, diversity: bool = True) -> pa.Table:
    """One row per (grouping, group, text side): images, mean short side, texts, mean
    words/nouns/adj-adv/preps/CLIP tokens/sentences, length-bucket counts, and the
    distinct nouns (DN) and nouns in more than 10 texts (VN) of the group.

    DN and VN need every noun of every text (the costly part: an unnest of the noun
    lists); ``diversity=False`` leaves them null and reads integer columns only."""
    totals: dict[tuple[str, str], dict[str, float]] = {("all", "all"): {"images": 0}}
    for row in _fine_groups(con):
        for key in _group_keys(row["source"], row["caption_model"]):
            acc = totals.setdefault(key, {})
            for name, value in row.items():
                if name not in ("source", "caption_model"):
                    acc[name] = acc.get(name, 0) + (value or 0)
    buckets: dict[tuple[str, str, str, int], int] = {}
    for side, source, model, b, n in _fine_buckets(con):
        for grouping, group in _group_keys(source, model):
            key = (grouping, group, side, b)
            buckets[key] = buckets.get(key, 0) + n
    nouns = _noun_diversity(con) if diversity else {}
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
            default = (0, 0) if diversity else (None, None)
            out["distinct_nouns"], out["frequent_nouns"] = nouns.get(
                (grouping, group, side), default
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


def _noun_counts_sql() -> str:
    """Texts containing each noun, per text side, source and captioner.

    The unnest repeats each row's group once per noun, so the group travels as one
    64-bit hash of (source, caption_model) and is named again by a join afterwards:
    half the time of carrying two strings through 30M noun rows per million captions.
    """
    selects = [
        f"SELECT '{side}' AS text, hash(source, caption_model) AS gid, "
        f"unnest({SIDE_PREFIX[side]}nouns) AS noun FROM captions"
        for side in SIDES
    ]
    return f"""
        WITH counted AS (
            SELECT text, gid, noun, count(*) AS n FROM ({" UNION ALL ".join(selects)})
            GROUP BY ALL
        ), names AS (
            SELECT DISTINCT hash(source, caption_model) AS gid, source, caption_model
            FROM captions
        )
        SELECT text, source, caption_model, noun, n FROM counted JOIN names USING (gid)
    """


def _noun_diversity(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str, str], tuple[int, int]]:
    con.execute(f"CREATE OR REPLACE TEMP TABLE noun_counts AS {_noun_counts_sql()}")
    rows = con.execute(f"""
        SELECT grouping, "group", text, count(*) AS dn,
               count(*) FILTER (n > {FREQUENT_NOUN_MIN_TEXTS}) AS vn
        FROM (
            SELECT {_GROUPING_SQL} AS grouping, {_GROUP_SQL} AS "group", text, noun, sum(n) AS n
            FROM noun_counts
            GROUP BY GROUPING SETS ((text, noun), (text, source, noun), (text, caption_model, noun))
        ) GROUP BY ALL
    """).fetchall()
    return {(g, grp, text): (dn, vn) for g, grp, text, dn, vn in rows}


def noun_table(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """Every noun per text side: texts containing it, their share, and its rank."""
    if not _has_table(con, "noun_counts"):
        con.execute(f"CREATE OR REPLACE TEMP TABLE noun_counts AS {_noun_counts_sql()}")
    return con.sql(f"""
        WITH totals AS (
            SELECT '{CAPTION_SIDE}' AS text, count(n_words) AS texts FROM captions
            UNION ALL SELECT '{ALT_TEXT_SIDE}', count(alt_n_words) FROM captions
        ), nouns AS (
            SELECT text, noun, sum(n)::BIGINT AS texts_with_noun FROM noun_counts GROUP BY ALL
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
    selects = [
        f"""SELECT '{side}' AS text,
                   least({p}n_words, {HISTOGRAM_MAX_WORDS}) // {HISTOGRAM_BIN_WORDS}
                       * {HISTOGRAM_BIN_WORDS} AS bin_start,
                   count(*) AS texts
            FROM captions WHERE {p}n_words IS NOT NULL GROUP BY ALL"""
        for side, p in SIDE_PREFIX.items()
    ]
    return con.sql(
        f"SELECT * FROM ({' UNION ALL '.join(selects)}) ORDER BY text, bin_start"
    ).to_arrow_table()


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
    the one that reads the texts themselves (the others read integer and noun columns)."""
    summary = summary_table(con)
    tables = {
        "summary": summary,
        "table1": table1_view(summary),
        "ella": ella_view(summary),
        "length_buckets": length_bucket_table(summary),
        "length_histogram": length_histogram(con),
        "nouns": noun_table(con),
        "funnel": funnel_table(con),
    }
    if words:
        tables["words"] = word_table(con)
    return tables


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND temporary", [name]
    ).fetchall()
    return bool(found[0][0])
