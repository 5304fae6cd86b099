"""``paraimage export``: a run's manifests to training shards with a dataset card.

    paraimage export --run runs/demo --out release/ --format webdataset
    paraimage export --run runs/big --out big-pq/ --format parquet \\
        --where "status = 'kept' AND n_words >= 80" --mix caption=0.95,alt_text=0.05

Bad input (no run, bad SQL, an OUT of another export, bad options) prints one line and
exits 2; rerunning the same command after an interruption resumes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from export.mixing import VARIANT_NAMES
from export.options import (
    DEFAULT_ROW_GROUP_ROWS,
    DEFAULT_SHARD_BYTES,
    DEFAULT_SHARD_SAMPLES,
    DEFAULT_WHERE,
    FORMATS,
    ON_MISSING_IMAGE,
    ORDERS,
    VERIFY,
    ExportError,
    ExportOptions,
    parse_mix,
    parse_size,
)

EXIT_BAD_INPUT = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="write a run as webdataset or Parquet shards with a dataset card",
        description="Export the selected rows of a run: original image bytes, the training "
        "caption (mixed from the caption variants), every variant with its metadata, and "
        "OUT/README.md. The same run and options give byte-identical shards; rerunning an "
        "interrupted export resumes it.",
    )
    parser.add_argument("--run", required=True, type=Path, help="the run folder (RUN_DIR)")
    parser.add_argument("--out", required=True, type=Path, help="the release folder")
    parser.add_argument("--format", required=True, help=f"one of: {', '.join(FORMATS)}")
    parser.add_argument(
        "--where", default=DEFAULT_WHERE,
        help="DuckDB condition over the manifest columns (default: kept rows whose "
        "caption has no QA flag)",
    )
    parser.add_argument(
        "--mix", default="caption=1",
        help=f"weights of the training caption's variants ({', '.join(VARIANT_NAMES)}, "
        "variant:<label>, variant:<captioner>/<label> from caption_variants), "
        "e.g. caption=0.95,alt_text=0.05",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the per-id mix draw")
    parser.add_argument("--shard-samples", type=int, default=DEFAULT_SHARD_SAMPLES,
                        help="samples per shard at most")
    parser.add_argument("--shard-bytes", default=str(DEFAULT_SHARD_BYTES),
                        help="bytes per shard at most, e.g. 500MB, 1GiB (estimated from the "
                        "manifest's image sizes)")
    parser.add_argument("--row-group-rows", type=int, default=DEFAULT_ROW_GROUP_ROWS,
                        help="Parquet rows per row group")
    parser.add_argument("--order", choices=ORDERS, default="id",
                        help="id: sources mixed across shards; source: the sources' order "
                        "(fast reads from source tars)")
    parser.add_argument("--on-missing-image", choices=ON_MISSING_IMAGE, default="skip",
                        help="an image that is gone or changed: leave the row out and count "
                        "it (skip), or stop (fail)")
    parser.add_argument("--verify", choices=VERIFY, default="size",
                        help="check each image read against its row: size (n_bytes, free) "
                        "or sha256 (every byte; about 40%% of a plain copy's time)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run_export_command)


def options_from_args(args: argparse.Namespace) -> ExportOptions:
    return ExportOptions(
        run_dir=args.run,
        out=args.out,
        format=args.format,
        where=args.where,
        mix=parse_mix(args.mix, VARIANT_NAMES),
        seed=args.seed,
        shard_samples=args.shard_samples,
        shard_bytes=parse_size(args.shard_bytes),
        row_group_rows=args.row_group_rows,
        order=args.order,
        on_missing_image=args.on_missing_image,
        verify=args.verify,
    )


def run_export_command(args: argparse.Namespace) -> int:
    from export.exporter import export_run

    try:
        summary = export_run(options_from_args(args), progress=not args.no_progress)
    except ExportError as exc:
        print(f"paraimage: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for line in summary.lines():
        print(f"[paraimage] {line}", flush=True)
    return 0
