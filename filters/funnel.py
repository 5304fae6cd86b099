"""Funnel report: per filter, how many rows it saw, rejected and passed.

Filters run in config order and a row stops at its first reject, so a filter *saw*
every row that was not an error and not rejected by an earlier filter. The report is
computed from the run's rows as every reader sees them (the manifests with the run's
decisions, ``paraimage/manifest_reader.py``): the step of a reject is the funnel's one
definition (``paraimage/funnel.py``: ``reject_reason`` prefixes in filter order), and
the histograms come from the score columns, so it can be rebuilt for any finished run:

* ``RUN_DIR/funnel/funnel.parquet``: one row per filter, in order, plus an ``other``
  row for rejects whose reason names no listed filter (e.g. caption QA);
* ``RUN_DIR/funnel/histograms.parquet``: 20-bin histograms of each filter's score
  columns over the rows the filter saw, split into passed and rejected;
* ``RUN_DIR/funnel/funnel.md``: the funnel as a short Markdown table.

Query either with DuckDB: ``SELECT * FROM 'RUN_DIR/funnel/funnel.parquet'``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from filters.registry import score_columns as registered_score_columns
from paraimage.funnel import step_sql
from paraimage.manifest_reader import manifest_files, run_sql

HISTOGRAM_BINS = 20
OTHER = "other"

FUNNEL_SCHEMA = pa.schema([
    pa.field("step", pa.int32()),
    pa.field("filter", pa.string()),
    pa.field("saw", pa.int64()),
    pa.field("rejected", pa.int64()),
    pa.field("passed", pa.int64()),
    pa.field("pass_rate", pa.float64()),
    pa.field("score_column", pa.string()),
    pa.field("n_scored", pa.int64()),  # rows the filter saw that carry its score
    pa.field("n_unscored", pa.int64()),  # ... and that do not (passed unscored)
])
HISTOGRAM_SCHEMA = pa.schema([
    pa.field("filter", pa.string()),
    pa.field("score_column", pa.string()),
    pa.field("bin", pa.int32()),
    pa.field("bin_lo", pa.float64()),
    pa.field("bin_hi", pa.float64()),
    pa.field("n_passed", pa.int64()),
    pa.field("n_rejected", pa.int64()),
])


def _load(con: duckdb.DuckDBPyConnection, run_dir: Path,
          score_columns: Iterable[str] = ()) -> None:
    """Table ``m``: the verdict and score columns of every row of the run, and no others
    (the captions and their statistics would cost kilobytes a row: gigabytes at 1M
    rows; DuckDB reads only the columns selected, through the decisions' join too)."""
    source = f"({run_sql(con, run_dir)})"
    present = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    wanted = dict.fromkeys(["status", "reject_reason", *score_columns])
    columns = ", ".join(f'"{name}"' for name in wanted if name in present)
    con.execute(f"CREATE TEMP TABLE m AS SELECT {columns} FROM {source}")


def compute_funnel(run_dir: Path, filter_order: Sequence[str],
                   score_columns: Mapping[str, Sequence[str]] | None = None
                   ) -> tuple[pa.Table, pa.Table]:
    """The funnel and histogram tables of a set of manifests."""
    score_columns = registered_score_columns() if score_columns is None else score_columns
    con = duckdb.connect()
    _load(con, run_dir, [c for cols in score_columns.values() for c in cols])
    present = {r[0] for r in con.execute("DESCRIBE m").fetchall()}
    con.execute(f"CREATE TEMP TABLE s AS SELECT *, {step_sql(filter_order)} AS _step "
                "FROM m WHERE status <> 'error'")
    funnel: dict[str, list] = {f.name: [] for f in FUNNEL_SCHEMA}
    hist: dict[str, list] = {f.name: [] for f in HISTOGRAM_SCHEMA}
    for i, name in enumerate([*filter_order, OTHER]):
        # Rows the step saw: not rejected at an earlier step.
        seen = f"(_step IS NULL OR _step >= {i})"
        saw, rejected = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE _step = {i}) FROM s WHERE {seen}"
        ).fetchone()
        cols = [c for c in score_columns.get(name, ()) if c in present] or [None]
        for col in cols:
            n_scored = (con.execute(f"SELECT count({col}) FROM s WHERE {seen}").fetchone()[0]
                        if col else 0)
            funnel["step"].append(i)
            funnel["filter"].append(name)
            funnel["saw"].append(saw)
            funnel["rejected"].append(rejected)
            funnel["passed"].append(saw - rejected)
            funnel["pass_rate"].append((saw - rejected) / saw if saw else None)
            funnel["score_column"].append(col)
            funnel["n_scored"].append(n_scored)
            funnel["n_unscored"].append(saw - n_scored if col else None)
            if col and n_scored:
                _histogram(con, name, col, seen, i, hist)
    return (pa.table(funnel, schema=FUNNEL_SCHEMA), pa.table(hist, schema=HISTOGRAM_SCHEMA))


def _histogram(con: duckdb.DuckDBPyConnection, name: str, col: str, seen: str, step: int,
               hist: dict[str, list]) -> None:
    lo, hi = con.execute(
        f"SELECT min({col})::DOUBLE, max({col})::DOUBLE FROM s WHERE {seen}").fetchone()
    width = (hi - lo) / HISTOGRAM_BINS if hi > lo else 1.0
    rows = con.execute(
        f"""
        SELECT least(floor(({col} - $lo) / $width), {HISTOGRAM_BINS - 1})::INT AS b,
               count(*) FILTER (WHERE _step IS DISTINCT FROM {step}) AS n_passed,
               count(*) FILTER (WHERE _step = {step}) AS n_rejected
        FROM s WHERE {seen} AND {col} IS NOT NULL GROUP BY b ORDER BY b
        """,
        {"lo": lo, "width": width},
    ).fetchall()
    for b, n_passed, n_rejected in rows:
        hist["filter"].append(name)
        hist["score_column"].append(col)
        hist["bin"].append(b)
        hist["bin_lo"].append(lo + b * width)
        hist["bin_hi"].append(lo + (b + 1) * width)
        hist["n_passed"].append(n_passed)
        hist["n_rejected"].append(n_rejected)


def funnel_markdown(funnel: pa.Table, n_rows: int, n_errors: int) -> str:
    lines = [
        f"# Filter funnel\n\n{n_rows} rows, {n_errors} errors (never reach the filters).\n",
        "| step | filter | saw | rejected | passed | pass rate | unscored |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    seen_steps: set[int] = set()
    for row in funnel.to_pylist():
        if row["step"] in seen_steps:  # one line per filter, first score column
            continue
        seen_steps.add(row["step"])
        rate = f"{row['pass_rate']:.1%}" if row["pass_rate"] is not None else "-"
        unscored = row["n_unscored"] if row["n_unscored"] is not None else "-"
        lines.append(f"| {row['step'] + 1} | {row['filter']} | {row['saw']} | "
                     f"{row['rejected']} | {row['passed']} | {rate} | {unscored} |")
    return "\n".join(lines) + "\n"


def write_funnel_report(run_dir: Path, filter_order: list[str],
                        score_columns: Mapping[str, Sequence[str]] | None = None) -> Path:
    """Write the funnel of ``RUN_DIR/manifests/*.parquet``; returns ``RUN_DIR/funnel``."""
    run_dir = Path(run_dir)
    if not manifest_files(run_dir):
        raise FileNotFoundError(f"no manifests under {run_dir / 'manifests'}")
    funnel, hist = compute_funnel(run_dir, filter_order, score_columns)
    con = duckdb.connect()
    _load(con, run_dir)
    n_rows, n_errors = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE status = 'error') FROM m").fetchone()
    out = run_dir / "funnel"
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(funnel, out / "funnel.parquet")
    pq.write_table(hist, out / "histograms.parquet")
    (out / "funnel.md").write_text(funnel_markdown(funnel, n_rows, n_errors))
    return out
