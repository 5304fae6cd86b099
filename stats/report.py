"""The run report: tables as Parquet, plots as PNG and a Markdown page that shows both.

``write_run_report(run_dir)`` is what the recaption job calls when a run ends; the
``paraimage stats`` command calls the same code. It reads the statistics already in the
manifests (or recomputed ones, see views.py) of the rows as the run decided them (the
kernel's manifest reader), and never starts spaCy or Ray.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from stats import plots
from stats.definitions import ALT_TEXT_SIDE, CAPTION_SIDE, FREQUENT_NOUN_MIN_TEXTS, LENGTH_BUCKETS
from stats.rollups import update_rollups
from stats.tables import NONE_GROUP, compute_tables
from stats.views import STATS_DIR, TABLE_NAMES, connect, create_run_views, manifest_files

if TYPE_CHECKING:
    from stats.prepare import PreparedInputs

REPORT_NAME = "report.md"
PLOTS_DIR = "plots"
REPORT_TOP_NOUNS = 20
# Non-English texts shown by id in the report, per side.
NON_ENGLISH_EXAMPLES = 5
DEFINITIONS = "docs/statistics.md"
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
    # Only manifests without a rollup are rolled up here; the run's decisions (dedup)
    # by one small rollup of the decided rows, when they changed.
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
    inputs: PreparedInputs | None = None,
) -> Path:
    """Everything from a connection whose views are set up (views.py), reading
    the run ``rollup`` (rollups.py) when given. ``inputs``: the files of
    ``paraimage stats --input`` (their own section, in place of a run's funnel).

    A table the options no longer make (``words=False``) is removed, so a folder never
    mixes tables of two invocations."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = compute_tables(con, words=words, rollup=rollup)
    for name, table in tables.items():
        pq.write_table(table, out_dir / f"{name}.parquet")
    for name in set(TABLE_NAMES) - set(tables):
        (out_dir / f"{name}.parquet").unlink(missing_ok=True)
    plot_dir = out_dir / PLOTS_DIR
    figures = [
        plots.plot_length_distribution(
            tables["length_histogram"],
            tables["length_buckets"],
            plot_dir / "length_distribution.png",
        ),
        plots.plot_top_nouns(tables["nouns"], plot_dir / "top_nouns.png",
                             sides=present_sides(tables["summary"])),
        plots.plot_captioners(tables["summary"], plot_dir / "captioners.png"),
    ]
    report = out_dir / REPORT_NAME
    report.write_text(render_markdown(
        title, tables, [f.relative_to(out_dir) for f in figures], inputs=inputs,
        non_english=non_english_counts(con),
    ))
    return report


def render_markdown(
    title: str,
    tables: dict[str, pa.Table],
    figures: Sequence[Path],
    inputs: PreparedInputs | None = None,
    non_english: Sequence[dict[str, Any]] = (),
) -> str:
    """The page. Parts the input cannot fill are left out: the alt-text rows when no
    row has an alt-text, the short-side column when no row has an image, a run's
    funnel for text files."""
    sides = present_sides(tables["summary"])
    summary = [r for r in tables["summary"].to_pylist() if r["text"] in sides]
    captioners = {r["group"] for r in summary if r["grouping"] == "captioner"}
    if captioners == {NONE_GROUP}:  # texts without a captioner: the group repeats "all"
        summary = [r for r in summary if r["grouping"] != "captioner"]
    with_images = any(r["mean_short_side"] is not None for r in summary)
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    counted = ("Kept rows only, except the funnel." if inputs is None
               else inputs.counting_note())
    parts = [
        f"# Caption statistics: {title}",
        f"Generated {now}. {counted} Definitions: `{DEFINITIONS}` in the paraimage "
        "repository (spaCy Penn tags, whitespace words, CLIP BPE tokens with start/end; "
        f"DN = distinct lower-cased nouns, VN = nouns in more than {FREQUENT_NOUN_MIN_TEXTS} "
        "texts).",
    ]
    if inputs is not None:
        parts += ["## Inputs", _inputs_table(inputs)]
    if inputs is None or any(s.kept_rows is not None for s in inputs.summaries):
        parts += [
            "## Funnel",
            markdown_table(
                ["source", "status", "reason", "rows", "share of source"],
                [[r["source"], r["status"], r["reason"] or "", r["n"],
                  _pct(r["share_of_source"])] for r in tables["funnel"].to_pylist()],
            ),
        ]
    table1_headers = ["dataset", "text", "images" if with_images or inputs is None else "rows",
                      *(["short side"] if with_images else []),
                      "avg words", "avg nouns"]
    parts += [
        "## Dataset (ParaDiffusion Table 1 style)",
        markdown_table(
            table1_headers,
            [[_label(r), _SIDE_NAMES[r["text"]], r["images"],
              *([_num(r["mean_short_side"], 1)] if with_images else []),
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
        _top_nouns(tables["nouns"], sides),
        "## Non-English texts",
        _non_english_section(non_english, sides),
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


def present_sides(summary: pa.Table) -> tuple[str, ...]:
    """The text sides some row has a text of (the caption side is always shown)."""
    texts = {r["text"]: r["texts"] for r in summary.to_pylist() if r["grouping"] == "all"}
    return tuple(side for side in (CAPTION_SIDE, ALT_TEXT_SIDE)
                 if side == CAPTION_SIDE or texts.get(side))


def _top_nouns(nouns: pa.Table, sides: Sequence[str]) -> str:
    by_side = {
        side: [r for r in nouns.to_pylist() if r["text"] == side][:REPORT_TOP_NOUNS]
        for side in sides
    }
    rows = []
    for i in range(max(len(v) for v in by_side.values())):
        row: list[Any] = [i + 1]
        for side in sides:
            hit = by_side[side][i] if i < len(by_side[side]) else None
            row += [hit["noun"], _pct(hit["share"])] if hit else ["", ""]
        rows.append(row)
    headers = ["rank"]
    for side in sides:
        headers += [f"{_SIDE_NAMES[side]} noun", "share"]
    return markdown_table(headers, rows)


def non_english_counts(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Per text side: texts, those that look non-English (the partials' flag, or a
    caption's QA flag ``non_english`` in a manifest) and a few of their ids."""
    out = []
    for side, prefix in ((CAPTION_SIDE, ""), (ALT_TEXT_SIDE, "alt_")):
        flag = f"{prefix}non_english"
        if side == CAPTION_SIDE:
            flag = f"coalesce({flag}, list_contains(caption_flags, 'non_english'))"
        texts, flagged = con.execute(f"""
            SELECT count(*) FILTER ({prefix}n_words IS NOT NULL), count(*) FILTER ({flag})
            FROM captions
        """).fetchall()[0]
        examples = [row[0] for row in con.execute(f"""
            SELECT coalesce(source, '') || ':' || coalesce(id, '') FROM captions
            WHERE {flag} LIMIT {NON_ENGLISH_EXAMPLES}
        """).fetchall()] if flagged else []
        out.append({"text": side, "texts": texts, "non_english": flagged,
                    "examples": examples})
    return out


def _non_english_section(counts: Sequence[dict[str, Any]], sides: Sequence[str]) -> str:
    rows = [r for r in counts if r["text"] in sides]
    if not any(r["non_english"] for r in rows):
        return "No text looks non-English."
    lines = [
        "These texts are mostly non-Latin letters or have few English function words "
        "(`captioners.qa.is_non_english`). spaCy's English tagger gives them meaningless "
        "counts; they are counted in every table above.",
        "",
        markdown_table(
            ["text", "texts", "non-English", "share", "examples (source:id)"],
            [[_SIDE_NAMES[r["text"]], r["texts"], r["non_english"],
              _pct(r["non_english"] / r["texts"] if r["texts"] else None),
              ", ".join(r["examples"])] for r in rows],
        ),
    ]
    return "\n".join(lines)


def _inputs_table(inputs: PreparedInputs) -> str:
    return markdown_table(
        ["file", "source", "format", "encoding", "rows", "rows without text",
         "invalid bytes replaced", "rows counted"],
        [[s.path.name, s.source, s.format, s.encoding, s.rows, s.rows_without_text,
          s.replaced_bytes, s.counted_rows] for s in inputs.summaries],
    )


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
