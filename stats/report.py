"""The run report: tables as Parquet, plots as PNG and a Markdown page that shows both.

``write_run_report(run_dir)`` is what the recaption job calls when a run ends; the
``paraimage stats`` command calls the same code. It reads the statistics already in the
manifests (or recomputed ones, see views.py) and never starts spaCy or Ray.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from stats import plots
from stats.definitions import ALT_TEXT_SIDE, CAPTION_SIDE, FREQUENT_NOUN_MIN_TEXTS, LENGTH_BUCKETS
from stats.rollups import update_rollups
from stats.tables import compute_tables
from stats.views import STATS_DIR, connect, create_run_views, manifest_files

REPORT_NAME = "report.md"
PLOTS_DIR = "plots"
REPORT_TOP_NOUNS = 20
_SIDE_NAMES = {CAPTION_SIDE: "caption", ALT_TEXT_SIDE: "alt-text"}


def write_run_report(
    run_dir: Path, words: bool = True, memory_limit: str | None = None
) -> Path:
    """Tables, plots and ``report.md`` under ``run_dir/stats/``; returns the report path.

    ``words=False`` skips the word-frequency table (the one table that reads the texts);
    ``memory_limit`` caps DuckDB (e.g. "2GB"; it spills past it). Raises
    ``StatsInputError`` when the run has no manifests.
    """
    run_dir = Path(run_dir)
    manifest_files(run_dir)
    # Only manifests written or rewritten since the last report are rolled up here.
    rollup = update_rollups(run_dir, memory_limit=memory_limit).run_rollup
    con = connect(memory_limit=memory_limit)
    create_run_views(con, run_dir)
    return write_report(con, run_dir / STATS_DIR, title=_run_title(run_dir), words=words,
                        rollup=rollup)


def write_report(
    con: duckdb.DuckDBPyConnection,
    out_dir: Path,
    title: str,
    words: bool = True,
    rollup: Path | None = None,
) -> Path:
    """Everything from a connection whose views are set up (views.py), reading
    the run ``rollup`` (rollups.py) when given."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = compute_tables(con, words=words, rollup=rollup)
    for name, table in tables.items():
        pq.write_table(table, out_dir / f"{name}.parquet")
    plot_dir = out_dir / PLOTS_DIR
    figures = [
        plots.plot_length_distribution(
            tables["length_histogram"],
            tables["length_buckets"],
            plot_dir / "length_distribution.png",
        ),
        plots.plot_top_nouns(tables["nouns"], plot_dir / "top_nouns.png"),
        plots.plot_captioners(tables["summary"], plot_dir / "captioners.png"),
    ]
    report = out_dir / REPORT_NAME
    report.write_text(render_markdown(title, tables, [f.relative_to(out_dir) for f in figures]))
    return report


def render_markdown(title: str, tables: dict[str, pa.Table], figures: Sequence[Path]) -> str:
    summary = tables["summary"].to_pylist()
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        f"# Caption statistics: {title}",
        f"Generated {now}. Kept rows only, except the funnel. Definitions: DESIGN.md, "
        "\"Statistics definitions\" (spaCy Penn tags, whitespace words, CLIP BPE tokens with "
        f"start/end; DN = distinct lower-cased nouns, VN = nouns in more than "
        f"{FREQUENT_NOUN_MIN_TEXTS} texts).",
        "## Funnel",
        markdown_table(
            ["source", "status", "reason", "rows", "share of source"],
            [[r["source"], r["status"], r["reason"] or "", r["n"], _pct(r["share_of_source"])]
             for r in tables["funnel"].to_pylist()],
        ),
        "## Dataset (ParaDiffusion Table 1 style)",
        markdown_table(
            ["dataset", "text", "images", "short side", "avg words", "avg nouns"],
            [[_label(r), _SIDE_NAMES[r["text"]], r["images"], _num(r["mean_short_side"], 1),
              _num(r["mean_words"], 1), _num(r["mean_nouns"], 1)] for r in summary],
        ),
        "## Vocabulary (ELLA Tables 1-2 style)",
        markdown_table(
            ["dataset", "text", "texts", "#DN", "VN", "words", "NN", "JJ/RB", "IN", "tokens",
             "sentences"],
            [[_label(r), _SIDE_NAMES[r["text"]], r["texts"], r["distinct_nouns"],
              r["frequent_nouns"], _num(r["mean_words"]), _num(r["mean_nouns"]),
              _num(r["mean_adj_adv"]), _num(r["mean_prep"]), _num(r["mean_clip_tokens"]),
              _num(r["mean_sentences"])] for r in summary],
        ),
        "## Length buckets (share of texts, words)",
        markdown_table(
            ["dataset", "text", *[label for label, _, _ in LENGTH_BUCKETS]],
            [[_label(r), _SIDE_NAMES[r["text"]],
              *[_pct(r[f"words_{label}"] / r["texts"] if r["texts"] else None)
                for label, _, _ in LENGTH_BUCKETS]] for r in summary],
        ),
        f"## Top {REPORT_TOP_NOUNS} nouns (share of texts containing them)",
        _top_nouns(tables["nouns"]),
        "## Plots",
        *[f"![{f.stem}]({f.as_posix()})" for f in figures],
        "## Tables",
        "Parquet beside this file: " + ", ".join(f"`{name}.parquet`" for name in tables) + ".",
    ]
    return "\n\n".join(parts) + "\n"


_LINE_BREAKS = re.compile(r"[\r\n\t\v\f\x1c-\x1e\x85\u2028\u2029]+")


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(value: Any) -> str:
        return plots.printable(_LINE_BREAKS.sub(" ", str(value)).replace("|", "\\|"))

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    if not rows:
        lines.append("| " + " | ".join("" for _ in headers) + " |")
    return "\n".join(lines)


def _top_nouns(nouns: pa.Table) -> str:
    by_side = {
        side: [r for r in nouns.to_pylist() if r["text"] == side][:REPORT_TOP_NOUNS]
        for side in (CAPTION_SIDE, ALT_TEXT_SIDE)
    }
    rows = []
    for i in range(max(len(v) for v in by_side.values())):
        row: list[Any] = [i + 1]
        for side in (CAPTION_SIDE, ALT_TEXT_SIDE):
            hit = by_side[side][i] if i < len(by_side[side]) else None
            row += [hit["noun"], _pct(hit["share"])] if hit else ["", ""]
        rows.append(row)
    return markdown_table(["rank", "caption noun", "share", "alt-text noun", "share"], rows)


def _label(row: dict[str, Any]) -> str:
    return "all" if row["grouping"] == "all" else f"{row['grouping']}: {row['group']}"


def _num(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _pct(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.1f}%"


def _run_title(run_dir: Path) -> str:
    try:
        meta = json.loads((run_dir / "run.json").read_text())
    except (OSError, ValueError):
        return run_dir.name
    return str(meta.get("run_id") or meta.get("name") or run_dir.name) if isinstance(
        meta, dict
    ) else run_dir.name
