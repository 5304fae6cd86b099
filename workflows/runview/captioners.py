"""The captioners compared: one row per (captioner, variant) from ``caption_variants``
(or per ``caption_model`` for manifests without it), aggregated by DuckDB."""

from __future__ import annotations

from typing import Any

import duckdb

from workflows.runview.sampling import present_columns

COMPARED_FLAGS = ("truncated", "repetitive", "refusal", "prompt_leak", "off_length",
                  "non_english", "empty")


def _flag_columns(field: str) -> str:
    return ", ".join(
        f"count(*) FILTER (WHERE list_contains({field}, '{flag}')) AS \"{flag}\""
        for flag in COMPARED_FLAGS)


def compare_captioners(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Rows: captioner, variant, model, captions, ok, rejected, error, mean words,
    mean tokens and the count of each QA flag (only flags some caption has)."""
    present = present_columns(con)
    if "caption_variants" in present and con.execute(
            "SELECT count(*) FROM m WHERE len(caption_variants) > 0").fetchone()[0]:
        sql = f"""
            SELECT v.captioner AS captioner, v.variant AS variant, any_value(v.model) AS model,
                   count(*) AS captions,
                   count(*) FILTER (WHERE v.status = 'ok') AS ok,
                   count(*) FILTER (WHERE v.status = 'rejected') AS rejected,
                   count(*) FILTER (WHERE v.status = 'error') AS error,
                   round(avg(v.n_words), 1) AS mean_words,
                   round(avg(v.n_tokens), 1) AS mean_tokens, {_flag_columns('v.flags')}
            FROM m, UNNEST(m.caption_variants) AS t(v)
            GROUP BY ALL ORDER BY 1, 2"""
    elif "caption_model" in present:
        words = "round(avg(n_words), 1)" if "n_words" in present else "NULL"
        sql = f"""
            SELECT caption_model AS captioner, NULL AS variant, caption_model AS model,
                   count(*) AS captions,
                   count(*) FILTER (WHERE status = 'kept') AS ok,
                   count(*) FILTER (WHERE status = 'rejected') AS rejected,
                   count(*) FILTER (WHERE status = 'error') AS error,
                   {words} AS mean_words,
                   round(avg(caption_n_tokens), 1) AS mean_tokens,
                   {_flag_columns('caption_flags')}
            FROM m WHERE caption IS NOT NULL GROUP BY ALL ORDER BY 1"""
    else:
        return []
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    unused = [f for f in COMPARED_FLAGS if not any(r[f] for r in rows)]
    for row in rows:
        for flag in unused:
            del row[flag]
    return rows
