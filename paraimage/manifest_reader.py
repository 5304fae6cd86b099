"""The one reader of a run's manifests: their rows, with the run-level decisions applied.

A manifest is written once, when its shard is whole, and never rewritten. What is
decided later over the whole run (dedup: which rows are copies of others) is a side
table, ``RUN_DIR/decisions/<step>.parquet``, one row per row the step decided about:

* ``id`` (unique in the table), ``status`` and ``reject_reason``: the row's verdict;
* any other manifest column the step owns (dedup: ``duplicate_of``).

A row's effective value of each of those columns is the decision's where the step
decided about the row, else the manifest's. Steps apply in the order of their names,
a later one over an earlier one; a step decides only rows that earlier steps left
kept, so in practice no two decide the same row. The kernel knows no step by name.

Every reader of manifests (summary, funnel, statistics views, rollups, export, the
review tool's import, the run view) builds its SQL here, so they all see the same rows,
read by name (``union_by_name``: manifests of older schema versions lack columns). A
run made before decisions existed (dedup rewrote its manifests) has no
``decisions/`` folder and reads as it was written.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from paraimage.atomic import atomic_path
from paraimage.manifest import MANIFEST_SCHEMA, STATUSES

MANIFESTS_DIR = "manifests"
DECISIONS_DIR = "decisions"
DECISION_COLUMNS = ("id", "status", "reject_reason")  # every decision table has these


class DecisionTableError(ValueError):
    """A decision table that would break the manifest contract."""


def manifest_files(run_dir: Path) -> list[Path]:
    """``RUN_DIR/manifests/*.parquet``, sorted (temp files of a write in flight end in
    ``.tmp`` and are not listed)."""
    return sorted((Path(run_dir) / MANIFESTS_DIR).glob("*.parquet"))


def run_dir_of(manifest: Path) -> Path:
    """The run directory a manifest file lies in (``RUN_DIR/manifests/<shard>.parquet``)."""
    return Path(manifest).parent.parent


def decision_path(run_dir: Path, step: str) -> Path:
    return Path(run_dir) / DECISIONS_DIR / f"{step}.parquet"


def decision_files(run_dir: Path, without: Collection[str] = ()) -> list[Path]:
    """The run's decision tables in the order they apply, less the steps ``without``
    (a step deciding again reads the run without its own previous decision)."""
    files = sorted((Path(run_dir) / DECISIONS_DIR).glob("*.parquet"))
    return [f for f in files if f.stem not in set(without)]


def decision_schema(columns: Sequence[str] = ()) -> pa.Schema:
    """The schema of a decision table owning ``columns`` beyond DECISION_COLUMNS: the
    manifest's own types, ``id`` and ``status`` required."""
    fields = []
    for name in dict.fromkeys([*DECISION_COLUMNS, *columns]):
        if MANIFEST_SCHEMA.get_field_index(name) < 0:
            raise DecisionTableError(f"decision column {name!r} is not a manifest column")
        field = MANIFEST_SCHEMA.field(name)
        fields.append(field.with_nullable(name not in ("id", "status")))
    return pa.schema(fields)


def write_decisions(run_dir: Path, step: str, table: pa.Table) -> Path:
    """Write ``step``'s decisions atomically (replacing its previous ones); returns
    the path. Refuses a table that could break the one-row-per-record contract."""
    extra = [c for c in table.column_names if c not in DECISION_COLUMNS]
    schema = decision_schema(extra)
    missing = [c for c in DECISION_COLUMNS if c not in table.column_names]
    if missing:
        raise DecisionTableError(f"decisions of {step!r} lack {', '.join(missing)}")
    table = table.select(schema.names).cast(schema)
    ids = table.column("id")
    if pc.count_distinct(ids).as_py() != table.num_rows:
        raise DecisionTableError(f"decisions of {step!r} hold an id twice")
    unknown = set(table.column("status").to_pylist()) - set(STATUSES)
    if unknown:
        raise DecisionTableError(f"decisions of {step!r} hold status {sorted(unknown)}")
    path = decision_path(run_dir, step)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
    return path


def sql_str(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def sql_paths(paths: Sequence[Path] | str) -> str:
    """A DuckDB literal for a glob or a list of files."""
    if isinstance(paths, str):
        return sql_str(paths)
    return "[" + ", ".join(sql_str(str(p)) for p in paths) + "]"


def read_sql(
    con: duckdb.DuckDBPyConnection,
    manifests: Sequence[Path] | str,
    decisions: Sequence[Path] = (),
    filename: bool = False,
) -> str:
    """SQL for the rows of ``manifests`` (files or a glob) with ``decisions`` applied
    in order; ``filename`` adds each row's manifest path as ``filename``. With no
    decisions this is the manifests as written."""
    options = ", union_by_name = true" + (", filename = true" if filename else "")
    sql = f"SELECT * FROM read_parquet({sql_paths(manifests)}{options})"
    if not decisions:
        return sql
    present = {row[0] for row in con.execute(f"DESCRIBE {sql}").fetchall()}
    for i, path in enumerate(decisions):
        columns = [c for c in pq.read_schema(path).names if c != "id"]
        alias = f"_decision{i}"
        decided = [f"CASE WHEN {alias}.id IS NULL THEN m.{c} ELSE {alias}.{c} END AS {c}"
                   if c in present else
                   f"CASE WHEN {alias}.id IS NULL THEN NULL ELSE {alias}.{c} END AS {c}"
                   for c in columns]
        replaced = [d for d, c in zip(decided, columns, strict=True) if c in present]
        added = [d for d, c in zip(decided, columns, strict=True) if c not in present]
        star = f"m.* REPLACE ({', '.join(replaced)})" if replaced else "m.*"
        sql = (
            f"SELECT {', '.join([star, *added])} FROM ({sql}) m "
            f"LEFT JOIN read_parquet({sql_str(str(path))}) {alias} ON m.id = {alias}.id"
        )
        present.update(columns)
    return sql


def run_sql(
    con: duckdb.DuckDBPyConnection,
    run_dir: Path,
    manifests: Sequence[Path] | None = None,
    without: Collection[str] = (),
    filename: bool = False,
) -> str:
    """SQL for a run's rows as every reader sees them: ``manifests`` (default: all of
    the run's, by glob, so thousands of files make a short query) with the run's
    decisions applied, less those of the steps ``without``."""
    run_dir = Path(run_dir)
    files: Sequence[Path] | str = (
        str(run_dir / MANIFESTS_DIR / "*.parquet") if manifests is None else list(manifests)
    )
    return read_sql(con, files, decision_files(run_dir, without), filename=filename)
