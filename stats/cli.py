"""``paraimage stats`` and ``paraimage query``.

    paraimage stats RUN_DIR                  # tables + report.md + plots into RUN_DIR/stats
    paraimage stats RUN_DIR --recompute always --workers 4
    paraimage stats --input a.parquet b.csv c.txt --text-column text --out OUT
    paraimage query "SELECT source, count(*) FROM captions GROUP BY 1" --run RUN_DIR

Bad input (no manifests, a missing column, bad SQL) prints one line and exits 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb

from stats.inputs import TXT_COLUMN, StatsInputError, check_text_columns, open_input
from stats.views import (
    STATS_DIR,
    TEXT_STATS_DIR,
    VIEW_NAMES,
    connect,
    create_file_views,
    create_run_views,
    manifest_files,
)

EXIT_BAD_INPUT = 2
RECOMPUTE_CHOICES = ("auto", "always", "never")
DEFAULT_MAX_ROWS = 40


def register(subparsers: argparse._SubParsersAction) -> None:
    stats = subparsers.add_parser(
        "stats",
        help="caption statistics: tables, report.md and plots for a run or for text files",
        description="Per-text statistics (words, nouns, adjectives/adverbs, prepositions, "
        "CLIP tokens, sentences) and the papers' tables, for a run's manifests "
        "(RUN_DIR) or for any text column of Parquet/CSV/TXT files (--input).",
    )
    stats.add_argument("run_dir", nargs="?", type=Path, help="a run folder with manifests/")
    stats.add_argument("--input", nargs="+", type=Path, help="Parquet, CSV or TXT files")
    stats.add_argument("--text-column", help="text column of --input files (TXT: 'text')")
    stats.add_argument("--alt-column", help="optional second text column, tabled as alt-text")
    stats.add_argument("--out", type=Path, help="output folder for --input (required there)")
    stats.add_argument(
        "--recompute", choices=RECOMPUTE_CHOICES, default="auto",
        help="recompute per-text statistics of a run: auto = when some are missing",
    )
    stats.add_argument("--workers", type=int, default=1, help="spaCy workers (>1 uses Ray)")
    stats.add_argument("--batch-size", type=int, default=256, help="rows per batch")
    stats.add_argument("--no-words", action="store_true", help="skip the word-frequency table")
    stats.add_argument("--memory-limit", help="DuckDB memory limit, e.g. 2GB (spills past it)")
    stats.set_defaults(func=run_stats)

    query = subparsers.add_parser(
        "query",
        help="run DuckDB SQL over a run's manifests through ready-made views",
        description=f"Views: {', '.join(VIEW_NAMES)} (see stats/README.md).",
    )
    query.add_argument("sql", help="SQL, e.g. \"SELECT * FROM funnel\"")
    where = query.add_mutually_exclusive_group(required=True)
    where.add_argument("--run", type=Path, help="a run folder with manifests/")
    where.add_argument("--stats", type=Path, help="an --out folder of 'paraimage stats --input'")
    query.add_argument("--output", type=Path, help="write the result to .parquet or .csv")
    query.add_argument("--max-rows", type=int, default=DEFAULT_MAX_ROWS, help="rows to print")
    query.set_defaults(func=run_query)


def run_stats(args: argparse.Namespace) -> int:
    try:
        if args.input:
            report = _stats_for_files(args)
        elif args.run_dir:
            report = _stats_for_run(args)
        else:
            raise StatsInputError("give a RUN_DIR or --input FILE... --text-column COL --out DIR")
    except StatsInputError as exc:
        return _bad_input(exc)
    print(f"report: {report}")
    return 0


def _stats_for_run(args: argparse.Namespace) -> Path:
    from stats.compute import compute_text_stats
    from stats.report import write_run_report

    run_dir: Path = args.run_dir
    files = manifest_files(run_dir)
    if args.recompute == "always" or (args.recompute == "auto" and _stats_missing(run_dir)):
        inputs = [open_input(f) for f in files]
        summary = compute_text_stats(
            inputs, run_dir / STATS_DIR / TEXT_STATS_DIR,
            workers=args.workers, batch_size=args.batch_size,
        )
        print(f"text stats: {summary.rows} rows from {summary.files} manifests "
              f"in {summary.seconds:.1f} s")
    return write_run_report(run_dir, words=not args.no_words, memory_limit=args.memory_limit)


def _stats_missing(run_dir: Path) -> bool:
    """Some row has a text but no statistics for it (stats stage off, older manifests)."""
    con = connect()
    create_run_views(con, run_dir)
    missing = con.execute("""
        SELECT count(*) FILTER (caption IS NOT NULL AND n_words IS NULL)
             + count(*) FILTER (alt_text IS NOT NULL AND alt_n_words IS NULL)
        FROM manifest
    """).fetchall()[0][0]
    return bool(missing)


def _stats_for_files(args: argparse.Namespace) -> Path:
    from stats.compute import compute_text_stats
    from stats.report import write_report

    if args.run_dir:
        raise StatsInputError("give either RUN_DIR or --input, not both")
    if not args.out:
        raise StatsInputError("--input needs --out DIR")
    inputs = [open_input(p) for p in args.input]
    column = args.text_column
    if not column:
        if all(item.format == "txt" for item in inputs):
            column = TXT_COLUMN
        else:
            raise StatsInputError("--input needs --text-column COL")
    columns = [column] + ([args.alt_column] if args.alt_column else [])
    check_text_columns(inputs, columns)
    out: Path = args.out
    summary = compute_text_stats(
        inputs, out / TEXT_STATS_DIR, caption_column=column, alt_column=args.alt_column,
        keep_text=True, workers=args.workers, batch_size=args.batch_size,
    )
    print(f"text stats: {summary.rows} rows from {summary.files} files in {summary.seconds:.1f} s"
          f" -> {out / TEXT_STATS_DIR}")
    con = connect(memory_limit=args.memory_limit)
    create_file_views(con, list(summary.outputs))
    title = ", ".join(p.name for p in args.input[:3]) + (" ..." if len(args.input) > 3 else "")
    return write_report(con, out, title=title, words=not args.no_words)


def run_query(args: argparse.Namespace) -> int:
    try:
        con = connect()
        if args.run:
            create_run_views(con, args.run)
        else:
            files = sorted((args.stats / TEXT_STATS_DIR).glob("*.parquet"))
            if not files:
                raise StatsInputError(f"no statistics in {args.stats / TEXT_STATS_DIR}")
            create_file_views(con, files)
        relation = con.sql(args.sql)
        if relation is None:  # a statement without a result (SET, CREATE ...)
            return 0
        if args.output:
            _write(relation, args.output)
            print(f"wrote {args.output}")
        else:
            relation.show(max_rows=args.max_rows, max_width=200)
    except StatsInputError as exc:
        return _bad_input(exc)
    except duckdb.Error as exc:
        return _bad_input(f"query failed: {exc}")
    return 0


def _write(relation: duckdb.DuckDBPyRelation, path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise StatsInputError(f"--output must end in .parquet or .csv, not {path.name!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".parquet":
        relation.write_parquet(str(path))
    else:
        relation.write_csv(str(path), header=True)


def _bad_input(problem: object) -> int:
    print(f"paraimage: error: {problem}", file=sys.stderr)
    return EXIT_BAD_INPUT

