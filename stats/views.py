"""DuckDB views over a run's manifests (or over stats partials): what SQL users see.

``manifest``  every row of every manifest, read through the kernel's one reader
              (``paraimage/manifest_reader.py``): the run's decisions (dedup) give the
              effective ``status``, ``reject_reason`` and ``duplicate_of``; recomputed
              statistics (``stats/text_stats/``, from ``paraimage stats --recompute``),
              the other run-level side table, replace the manifests' own
``captions``  kept rows (the dataset)
``rejected``  rows a filter rejected, with ``reject_reason``
``errors``    rows that failed, with ``error``
``funnel``    rows per source, status and reason, with the share of the source's inputs
              (reasons as the funnel defines them, ``paraimage/funnel.py``; per reason,
              not per filter step: the step needs the job's filter order, which a run
              folder queried later does not carry, and the reason refines it)
``nouns``     one row per (kept caption, distinct noun): id, source, caption_model, noun
``alt_nouns`` the same for the alt-text of kept rows
``caption_variants`` one row per (kept image, captioner, variant): every caption of the
              run's captioners and length variants (Tables 5 and 11 comparisons)

Columns a view needs but a file lacks (older manifests, plain text inputs) read as
NULL, so the same SQL works on every input.

Beside them, ``create_table_views`` makes each table the report wrote a view of its
own name (``summary``, ``table1``, ``ella``, ``length_buckets``, ``length_histogram``,
``words``); the two whose names a row view has are ``nouns_table`` and ``funnel_table``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb

from paraimage.funnel import counts_sql
from paraimage.manifest_reader import MANIFESTS_DIR, run_sql
from paraimage.manifest_reader import manifest_files as _manifest_files
from stats.definitions import (
    ALT_TEXT_SIDE,
    CAPTION_SIDE,
    COUNT_FIELDS,
    NON_ENGLISH_FIELD,
    SIDE_PREFIX,
    stat_columns,
)
from stats.errors import StatsInputError

STATS_DIR = "stats"
TEXT_STATS_DIR = "text_stats"  # under STATS_DIR: recomputed per-text statistics
VIEW_NAMES = ("manifest", "captions", "rejected", "errors", "funnel", "nouns", "alt_nouns",
              "caption_variants")
# The report's tables (report.py writes NAME.parquet), queryable as views.
TABLE_NAMES = ("summary", "table1", "ella", "length_buckets", "length_histogram", "nouns",
               "funnel", "words")

# Columns the tables and views read, with the SQL type they get when a file lacks them.
REQUIRED_COLUMNS: dict[str, str] = {
    "id": "VARCHAR",
    "source": "VARCHAR",
    "status": "VARCHAR",
    "reject_reason": "VARCHAR",
    "error": "VARCHAR",
    "caption_model": "VARCHAR",
    "short_edge": "INTEGER",
    CAPTION_SIDE: "VARCHAR",
    ALT_TEXT_SIDE: "VARCHAR",
    "caption_flags": "VARCHAR[]",
    "caption_variants": (
        "STRUCT(captioner VARCHAR, variant VARCHAR, model VARCHAR, prompt VARCHAR, "
        "target_words INTEGER, params VARCHAR, status VARCHAR, reason VARCHAR, "
        "caption VARCHAR, caption_raw VARCHAR, finish_reason VARCHAR, flags VARCHAR[], "
        "n_tokens INTEGER, n_words INTEGER)[]"
    ),
}
for _prefix in SIDE_PREFIX.values():
    for _name in COUNT_FIELDS:
        REQUIRED_COLUMNS[_prefix + _name] = "INTEGER"
    REQUIRED_COLUMNS[_prefix + "nouns"] = "VARCHAR[]"
    REQUIRED_COLUMNS[_prefix + NON_ENGLISH_FIELD] = "BOOLEAN"
_STAT_COLUMNS = tuple(c for p in SIDE_PREFIX.values() for c in stat_columns(p))


def connect(
    threads: int | None = None, memory_limit: str | None = None
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB; spills to a temp folder past ``memory_limit`` (e.g. "1GB")."""
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if memory_limit:
        con.execute(f"SET memory_limit = {sql_str(memory_limit)}")
    con.execute("SET preserve_insertion_order = false")  # lets scans stream out of order
    return con


def manifest_files(run_dir: Path) -> list[Path]:
    files = _manifest_files(run_dir)
    if not files:
        raise StatsInputError(f"no manifests found: {run_dir / MANIFESTS_DIR}/*.parquet")
    return files


def text_stats_files(run_dir: Path) -> list[Path]:
    return sorted((run_dir / STATS_DIR / TEXT_STATS_DIR).glob("*.parquet"))


def create_run_views(con: duckdb.DuckDBPyConnection, run_dir: Path) -> None:
    """The views over ``run_dir/manifests/*.parquet`` with the run's decisions (plus
    recomputed statistics)."""
    manifest_files(run_dir)  # fails clearly when there are none
    # The reader reads by glob, not file lists: a run may hold thousands of manifests.
    try:
        relation = run_sql(con, run_dir)
    except duckdb.Error as exc:  # the reader reads a run with decisions to join them
        raise StatsInputError(f"cannot read the manifests: {exc}") from exc
    base = fill_columns(con, relation)
    if text_stats_files(run_dir):
        recomputed = str(run_dir / STATS_DIR / TEXT_STATS_DIR / "*.parquet")
        stats = ", ".join(f"s.{c}" for c in _STAT_COLUMNS)
        base = (
            f"SELECT m.* EXCLUDE ({', '.join(_STAT_COLUMNS)}), {stats} "
            f"FROM ({base}) m LEFT JOIN ({read_filled(con, recomputed)}) s USING (id)"
        )
    _create_views(con, base)


def create_file_views(con: duckdb.DuckDBPyConnection, files: Sequence[Path]) -> None:
    """The same views over stats partials of arbitrary text files (all rows "kept")."""
    if not files:
        raise StatsInputError("no statistics files to read")
    _create_views(con, read_filled(con, files))


def table_view_name(table: str) -> str:
    return f"{table}_table" if table in VIEW_NAMES else table


def create_table_views(con: duckdb.DuckDBPyConnection, folder: Path) -> list[str]:
    """A view per report table found in ``folder``; the names made."""
    made = []
    for table in TABLE_NAMES:
        path = folder / f"{table}.parquet"
        if path.is_file():
            name = table_view_name(table)
            con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM "
                        f"read_parquet({sql_str(str(path))})")
            made.append(name)
    return made


def _create_views(con: duckdb.DuckDBPyConnection, base: str) -> None:
    con.execute(f"CREATE OR REPLACE VIEW manifest AS {base}")
    con.execute("CREATE OR REPLACE VIEW captions AS SELECT * FROM manifest WHERE status = 'kept'")
    con.execute(
        "CREATE OR REPLACE VIEW rejected AS SELECT * FROM manifest WHERE status = 'rejected'"
    )
    con.execute("CREATE OR REPLACE VIEW errors AS SELECT * FROM manifest WHERE status = 'error'")
    con.execute(f"""
        CREATE OR REPLACE VIEW funnel AS
        SELECT source, status, reason, n,
               n / sum(n) OVER (PARTITION BY source) AS share_of_source
        FROM ({counts_sql("manifest", ["source"])})
        ORDER BY source, status, n DESC, reason
    """)
    con.execute("""
        CREATE OR REPLACE VIEW nouns AS
        SELECT id, source, caption_model, unnest(nouns) AS noun FROM captions
    """)
    con.execute("""
        CREATE OR REPLACE VIEW alt_nouns AS
        SELECT id, source, caption_model, unnest(alt_nouns) AS noun FROM captions
    """)
    con.execute("""
        CREATE OR REPLACE VIEW caption_variants AS
        SELECT id, source, v.* FROM captions, UNNEST(caption_variants) AS t(v)
    """)


def read_filled(
    con: duckdb.DuckDBPyConnection, files: Sequence[Path] | str, filename: bool = False
) -> str:
    """SQL reading ``files`` (a list or a glob of stats partials) with every required
    column present (NULL where absent); ``filename`` adds each row's file path as
    ``filename``. Manifests are read through the kernel's reader and ``fill_columns``."""
    paths = sql_str(files) if isinstance(files, str) else sql_list(files)
    options = ", filename = true" if filename else ""
    return fill_columns(con, f"SELECT * FROM read_parquet({paths}, union_by_name = true{options})",
                        files)


def fill_columns(
    con: duckdb.DuckDBPyConnection, relation: str, files: Sequence[Path] | str = ()
) -> str:
    """SQL for the rows of ``relation`` (a query) with every required column present
    (NULL where absent)."""
    try:
        present = {row[0] for row in con.execute(f"DESCRIBE {relation}").fetchall()}
    except duckdb.Error as exc:
        n = 1 if isinstance(files, str) else len(files)
        what = f"{n} Parquet file(s)" if files else "the manifests"
        raise StatsInputError(f"cannot read {what}: {exc}") from exc
    missing = [f"NULL::{kind} AS {name}" for name, kind in REQUIRED_COLUMNS.items()
               if name not in present]
    return f"SELECT *{''.join(', ' + m for m in missing)} FROM ({relation})"


def sql_list(files: Sequence[Path]) -> str:
    return "[" + ", ".join(sql_str(str(f)) for f in files) + "]"


def sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
