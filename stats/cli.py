"""``paraimage stats`` and ``paraimage query``.

    paraimage stats RUN_DIR                  # tables + report.md + plots into RUN_DIR/stats
    paraimage stats RUN_DIR --recompute always --workers 4
    paraimage stats --input a.parquet b.csv c.tsv d.jsonl.gz e.txt hf_export/ \
        --text-column prompt --out OUT
    paraimage query "SELECT source, count(*) FROM captions GROUP BY 1" --run RUN_DIR
    paraimage query "SELECT * FROM ella" --stats OUT

Bad input (no manifests, a missing column, a bad encoding or a ragged row, named by
file and line, bad SQL) prints one line and exits 2, before any work.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb

from stats.encodings import INVALID_CHOICES
from stats.inputs import FORMAT_CHOICES, ReadOptions, StatsInputError, open_input
from stats.views import (
    STATS_DIR,
    TABLE_NAMES,
    TEXT_STATS_DIR,
    VIEW_NAMES,
    connect,
    create_file_views,
    create_run_views,
    create_table_views,
    manifest_files,
    table_view_name,
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
        "(RUN_DIR) or for any text column of Parquet, CSV, TSV, TXT or JSON Lines files "
        "(--input). Definitions: docs/statistics.md.",
    )
    stats.add_argument("run_dir", nargs="?", type=Path, help="a run folder with manifests/")
    stats.add_argument(
        "--input", nargs="+", type=Path,
        help="Parquet, CSV, TSV, TXT, JSON Lines (.jsonl, .json) files, .gz/.zst/.bz2 "
        "compressed, or folders of them (a datasets Parquet export)",
    )
    stats.add_argument("--text-column", help="text column of --input files (TXT: 'text')")
    stats.add_argument("--alt-column", help="optional second text column, tabled as alt-text")
    stats.add_argument("--out", type=Path, help="output folder for --input (required there)")
    stats.add_argument(
        "--encoding",
        help="encoding of text inputs (default: from a byte-order mark, UTF-16 by its NUL "
        "bytes, else UTF-8)",
    )
    stats.add_argument(
        "--invalid-bytes", choices=INVALID_CHOICES, default="error",
        help="bytes the encoding cannot decode: error (name file and line, exit 2) or "
        "replace (U+FFFD, counted in the report)",
    )
    stats.add_argument("--delimiter", help="field delimiter of CSV/TSV inputs ('\\t' or 'tab')")
    stats.add_argument("--format", choices=FORMAT_CHOICES,
                       help="read every --input file as this format, whatever its extension")
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
        description=f"Views: {', '.join(VIEW_NAMES)}, and the report's tables: "
        f"{', '.join(table_view_name(t) for t in TABLE_NAMES)} (see stats/README.md).",
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
        inputs = [open_input(f, manifest=True) for f in files]
        summary = compute_text_stats(
            inputs, run_dir / STATS_DIR / TEXT_STATS_DIR,
            workers=args.workers, batch_size=args.batch_size,
        )
        print(f"text stats: {summary.rows} rows from {summary.files} manifests "
              f"in {summary.seconds:.1f} s")
    report = write_run_report(run_dir, words=not args.no_words, memory_limit=args.memory_limit)
    print(f"tables: {_kept_note(run_dir)}")
    return report


def _kept_note(run_dir: Path) -> str:
    con = connect()
    create_run_views(con, run_dir)
    kept, rows = con.execute(
        "SELECT count(*) FILTER (status = 'kept'), count(*) FROM manifest").fetchall()[0]
    return (f"{kept} kept rows of {rows} (rejected and error rows are in the funnel only)"
            if kept < rows else f"all {rows} rows (every row is kept)")


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
    from stats.prepare import prepare_inputs
    from stats.report import write_report

    if args.run_dir:
        raise StatsInputError("give either RUN_DIR or --input, not both")
    if not args.out:
        raise StatsInputError("--input needs --out DIR")
    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise StatsInputError(f"--out {out} is a file, not a folder")
    options = ReadOptions(encoding=args.encoding, invalid=args.invalid_bytes,
                          delimiter=_delimiter(args.delimiter), format=args.format)
    prepared = prepare_inputs(args.input, options, args.text_column, args.alt_column)
    for warning in prepared.warnings:
        print(f"paraimage: warning: {warning}", file=sys.stderr)
    summary = compute_text_stats(
        prepared.inputs, out / TEXT_STATS_DIR, caption_column=prepared.text_column,
        alt_column=prepared.alt_column, keep_text=True, workers=args.workers,
        batch_size=args.batch_size, total_rows=prepared.rows,
    )
    print(f"text stats: {summary.rows} rows from {summary.files} files in {summary.seconds:.1f} s"
          f" -> {out / TEXT_STATS_DIR}")
    print(f"tables: {prepared.counting_note()}")
    con = connect(memory_limit=args.memory_limit)
    create_file_views(con, list(summary.outputs))
    title = ", ".join(p.name for p in args.input[:3]) + (" ..." if len(args.input) > 3 else "")
    return write_report(con, out, title=title, words=not args.no_words, inputs=prepared)


def _delimiter(value: str | None) -> str | None:
    if value is None:
        return None
    return {"\\t": "\t", "tab": "\t", "TAB": "\t"}.get(value, value)


def run_query(args: argparse.Namespace) -> int:
    try:
        con = connect()
        if args.run:
            create_run_views(con, args.run)
            create_table_views(con, args.run / STATS_DIR)
        else:
            files = sorted((args.stats / TEXT_STATS_DIR).glob("*.parquet"))
            if not files:
                raise StatsInputError(f"no statistics in {args.stats / TEXT_STATS_DIR}")
            create_file_views(con, files)
            create_table_views(con, args.stats)
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

