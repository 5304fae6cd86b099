"""Dataset tables with DuckDB over the ``captions`` view (kept rows; see views.py).

Every table but the word table (which reads the texts) is a sum over rows, so all of
them come from one rollup (rollups.py): images, sums and counts of each statistic,
capped word-count histograms and texts per noun, per (source, captioner) and text side
(kept rows), and rows per (source, status, reason) for the funnel. A run's rollups are
written per manifest and merged into one file, a few rows per (group, noun); inputs
without them (plain text files, recomputed statistics) are rolled up on the fly by the
same SQL, in three scans of the ``manifest`` view.

Results are small (one row per group, per noun or per bucket) and come back as Arrow
tables. Groupings: ``all`` (the whole dataset), ``source`` and ``captioner``
(caption_model); a NULL group value reads "(none)". Text sides: ``caption`` and
``alt_text`` (the same images' source alt-text), computed with one definition, side by
side.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

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
    MEASURE_FUNNEL,
    MEASURE_HIST,
    MEASURE_IMAGES,
    NOUN_LEVEL_MEASURES,
    ROLLUP_SCHEMA,
    rollup_sql,
    run_level_sql,
)

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

FineGroup = dict[str, Any]


def load_rollup(con: duckdb.DuckDBPyConnection, rollup: Path | None = None) -> pa.Table:
    """The run rollup (rollups.py): read from ``rollup`` (a run's fresh
    ``@run-*.parquet``) or, without it, computed from the ``manifest`` view. It is
    small (a few rows per group and noun), so the tables are derived from it in Arrow:
    a DuckDB query per table would cost more in fixed overhead than the work itself."""
    if rollup is not None:
        return pq.read_table(rollup, schema=ROLLUP_SCHEMA)
    sql = run_level_sql(f"({rollup_sql(con, 'manifest', by_file=False)})")
    return con.sql(sql).to_arrow_table().cast(ROLLUP_SCHEMA)


def _rows_of(rollup: pa.Table, *measures: str, exclude: bool = False) -> pa.Table:
    mask = pc.is_in(rollup.column("measure"), value_set=pa.array(measures, pa.string()))
    return rollup.filter(pc.invert(mask) if exclude else mask)


def _fine_groups(rollup: pa.Table) -> list[FineGroup]:
    """Per (source, caption_model): images, ``sum_``/``n_`` of short_edge and of every
    statistic (with the side's column prefix: ``sum_alt_n_words``) and ``hist_<side>``:
    {capped word count: texts}. Everything but the nouns: a few hundred rows."""
    rows = _rows_of(rollup, MEASURE_FUNNEL, *NOUN_LEVEL_MEASURES.values(), exclude=True)
    groups: dict[tuple[str | None, str | None], FineGroup] = {}
    for row in rows.to_pylist():
        source, model, side = row["source"], row["caption_model"], row["text"]
        group = groups.setdefault((source, model), {
            "source": source, "caption_model": model,
            **{f"hist_{s}": {} for s in SIDES},
        })
        measure, value = row["measure"], row["value"]
        if measure == MEASURE_HIST:
            group[f"hist_{side}"][int(row["key"])] = value
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
    con: duckdb.DuckDBPyConnection, rollup: Path | None = None
) -> pa.Table:
    """One row per (grouping, group, text side): images, mean short side, texts, mean
    words/nouns/adj-adv/preps/CLIP tokens/sentences, length-bucket counts, and the
    distinct nouns (DN) and nouns in more than 10 texts (VN) of the group."""
    rolled = load_rollup(con, rollup)
    return _summary(_fine_groups(rolled), _noun_diversity(rolled))


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


def _noun_diversity(rollup: pa.Table) -> dict[tuple[str, str, str], tuple[int, int]]:
    """DN and VN per (grouping, group, side), from the rollup's texts per noun."""
    by_measure = {measure: level for level, measure in NOUN_LEVEL_MEASURES.items()}
    nouns = _rows_of(rollup, *by_measure)
    frequent = pc.cast(pc.greater(nouns.column("value"), FREQUENT_NOUN_MIN_TEXTS), pa.int64())
    counted = nouns.append_column("frequent", frequent).group_by(
        ["measure", "source", "caption_model", "text"]
    ).aggregate([("key", "count"), ("frequent", "sum")])
    out = {}
    for row in counted.to_pylist():
        level = by_measure[row["measure"]]
        group = {"all": "all", "source": row["source"] or NONE_GROUP,
                 "captioner": row["caption_model"] or NONE_GROUP}[level]
        out[(level, group, row["text"])] = (row["key_count"], row["frequent_sum"])
    return out


def noun_table(
    con: duckdb.DuckDBPyConnection, rollup: Path | None = None
) -> pa.Table:
    """Every noun per text side: texts containing it, their share, and its rank."""
    rolled = load_rollup(con, rollup)
    return _noun_table(rolled, _fine_groups(rolled))


def _noun_table(rollup: pa.Table, fine: list[FineGroup]) -> pa.Table:
    """Ranked by texts (descending), then noun; share of the side's texts."""
    # Texts per side are the non-null word counts of the groups: no scan of the captions.
    texts = {side: sum(g.get(f"n_{p}n_words", 0) for g in fine) for side, p in SIDE_PREFIX.items()}
    nouns = _rows_of(rollup, NOUN_LEVEL_MEASURES["all"]).sort_by(
        [("text", "ascending"), ("value", "descending"), ("key", "ascending")]
    )
    side = nouns.column("text").to_numpy(zero_copy_only=False)
    counts = nouns.column("value").to_numpy()
    # rank restarts at 1 where the side changes (rows are sorted by side first)
    position = np.arange(len(side), dtype=np.int64)
    first = np.r_[True, side[1:] != side[:-1]] if len(side) else np.zeros(0, bool)
    rank = position - np.maximum.accumulate(np.where(first, position, 0)) + 1
    totals = np.array([texts.get(s, 0) for s in side], dtype=np.float64)
    return pa.table({
        "text": nouns.column("text"),
        "rank": pa.array(rank, pa.int64()),
        "noun": nouns.column("key"),
        "texts_with_noun": nouns.column("value"),
        "share": pa.array(counts / totals if len(side) else np.zeros(0), pa.float64()),
    })


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
    con: duckdb.DuckDBPyConnection, rollup: Path | None = None
) -> pa.Table:
    """Texts per bin of ``HISTOGRAM_BIN_WORDS`` words (the last bin holds the rest)."""
    return _histogram(_fine_groups(load_rollup(con, rollup)))


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


def funnel_table(
    con: duckdb.DuckDBPyConnection, rollup: Path | None = None
) -> pa.Table:
    """The ``funnel`` view's rows (views.py), from the rollup."""
    return _funnel_table(load_rollup(con, rollup))


def _funnel_table(rollup: pa.Table) -> pa.Table:
    rows = _rows_of(rollup, MEASURE_FUNNEL).sort_by(
        # the view's ORDER BY source, status, n DESC, reason (NULLs last, as DuckDB)
        [("source", "ascending"), ("text", "ascending"), ("value", "descending"),
         ("key", "ascending")]
    ).to_pylist()
    per_source: dict[str | None, int] = {}
    for row in rows:
        per_source[row["source"]] = per_source.get(row["source"], 0) + row["value"]
    return pa.table({
        "source": pa.array([r["source"] for r in rows], pa.string()),
        "status": pa.array([r["text"] for r in rows], pa.string()),
        "reason": pa.array([r["key"] for r in rows], pa.string()),
        "n": pa.array([r["value"] for r in rows], pa.int64()),
        "share_of_source": pa.array(
            [r["value"] / per_source[r["source"]] for r in rows], pa.float64()
        ),
    })


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
    con: duckdb.DuckDBPyConnection, words: bool = True, rollup: Path | None = None
) -> dict[str, pa.Table]:
    """All tables, by file name stem. ``words=False`` skips the word-frequency table,
    the one that reads the texts themselves. ``rollup``: the run's fresh run rollup
    (``rollups.update_rollups``); without it the ``manifest`` view is rolled up here.

    One rollup feeds every table but the words."""
    rolled = load_rollup(con, rollup)
    fine = _fine_groups(rolled)
    summary = _summary(fine, _noun_diversity(rolled))
    tables = {
        "summary": summary,
        "table1": table1_view(summary),
        "ella": ella_view(summary),
        "length_buckets": length_bucket_table(summary),
        "length_histogram": _histogram(fine),
        "nouns": _noun_table(rolled, fine),
        "funnel": _funnel_table(rolled),
    }
    if words:
        tables["words"] = word_table(con)
    return tables
