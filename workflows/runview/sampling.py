"""Seeded samples of manifest rows, drawn by DuckDB so a report never loads every row.

Rows are ordered by ``md5(id || ':' || seed)``: the same run and seed give the same
sample on every machine and DuckDB version, and a bigger ``n`` extends a smaller one.
A first query keeps only ids (a top-N per group over two columns); a second reads the
full rows of those ids.

* kept: ``n`` rows, taken round-robin over the sources (each source's first rows by
  hash first), so a small source is not drowned by a big one;
* rejected: up to ``per_group`` rows per ``reject_reason``;
* error: up to ``per_group`` rows per error kind (the funnel's definition,
  ``paraimage/funnel.py``: the text before the first ``:``).

Rows are the run's as every reader sees them (``paraimage/manifest_reader.py``): a row
dedup decided a duplicate is sampled as rejected, with its ``duplicate_of``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from paraimage.funnel import error_kind_sql
from paraimage.manifest import STATUS_ERROR, STATUS_KEPT, STATUS_REJECTED
from paraimage.manifest_reader import run_dir_of, run_sql

# The columns a report card shows; absent ones (older manifests) read as NULL.
CARD_COLUMNS = (
    "id", "source", "source_key", "shard_id", "image_ref", "status", "reject_reason",
    "error", "width", "height", "short_edge", "format", "mode", "n_bytes", "alt_text",
    "source_aesthetic", "aesthetic_score", "aesthetic_source", "mosaic_score",
    "mosaic_detected", "mosaic_boxes", "punsafe", "pwatermark", "duplicate_of", "caption",
    "caption_model", "caption_finish_reason", "caption_flags", "caption_n_tokens",
    "caption_variants", "n_words",
)
ERROR_KIND_SQL = error_kind_sql()


@dataclass(frozen=True)
class Sample:
    kept: list[dict[str, Any]]
    rejected: dict[str, list[dict[str, Any]]]  # reason -> rows
    errors: dict[str, list[dict[str, Any]]]  # error kind -> rows


def connect(manifests: Sequence[Path]) -> duckdb.DuckDBPyConnection:
    """A connection with the view ``m`` over ``manifests`` (files of one run) with the
    run's decisions applied."""
    con = duckdb.connect()
    rows = run_sql(con, run_dir_of(manifests[0]), manifests=list(manifests))
    con.execute(f"CREATE VIEW m AS {rows}")
    return con


def present_columns(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {row[0] for row in con.execute("DESCRIBE m").fetchall()}


def _select_list(present: set[str]) -> str:
    return ", ".join(c if c in present else f"NULL AS {c}" for c in CARD_COLUMNS)


def _hash(seed: int) -> str:
    return f"md5(id || ':{int(seed)}')"


def _rows(con: duckdb.DuckDBPyConnection, ids: list[str], seed: int,
          present: set[str]) -> dict[str, dict[str, Any]]:
    if not ids:
        return {}
    cursor = con.execute(
        f"SELECT {_select_list(present)} FROM m WHERE id IN (SELECT unnest($ids))",
        {"ids": ids},
    )
    names = [d[0] for d in cursor.description]
    return {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}


def _grouped(con: duckdb.DuckDBPyConnection, status: str, key_sql: str, per_group: int,
             seed: int, present: set[str]) -> dict[str, list[dict[str, Any]]]:
    picked = con.execute(f"""
        SELECT coalesce({key_sql}, '(none)') AS k, id FROM m WHERE status = $status
        QUALIFY row_number() OVER (PARTITION BY k ORDER BY {_hash(seed)}) <= $n
        ORDER BY k, {_hash(seed)}
    """, {"status": status, "n": per_group}).fetchall()
    rows = _rows(con, [i for _, i in picked], seed, present)
    out: dict[str, list[dict[str, Any]]] = {}
    for key, row_id in picked:
        out.setdefault(key, []).append(rows[row_id])
    return out


def draw_sample(con: duckdb.DuckDBPyConnection, n: int, per_group: int,
                seed: int = 0) -> Sample:
    present = present_columns(con)
    kept_ids = [r[0] for r in con.execute(f"""
        SELECT id FROM (
            SELECT id, h, row_number() OVER (PARTITION BY source ORDER BY h) AS rn
            FROM (SELECT id, source, {_hash(seed)} AS h FROM m WHERE status = $status)
        ) WHERE rn <= $n ORDER BY rn, h LIMIT $n
    """, {"status": STATUS_KEPT, "n": n}).fetchall()]
    kept_rows = _rows(con, kept_ids, seed, present)
    return Sample(
        kept=[kept_rows[i] for i in kept_ids],
        rejected=_grouped(con, STATUS_REJECTED, "reject_reason", per_group, seed, present),
        errors=_grouped(con, STATUS_ERROR, ERROR_KIND_SQL, per_group, seed, present),
    )
