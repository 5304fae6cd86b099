from __future__ import annotations

import warnings
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image
from stats_helpers import make_run, manifest_row

from stats.definitions import ALT_TEXT_SIDE, CAPTION_SIDE
from stats.plots import plot_top_nouns, printable
from stats.report import markdown_table, write_run_report


def test_run_report_writes_tables_plots_and_markdown(random_run: Path) -> None:
    report = write_run_report(random_run)
    assert report == random_run / "stats" / "report.md"
    out = report.parent
    for name in ("summary", "table1", "ella", "length_buckets", "length_histogram", "nouns",
                 "words", "funnel"):
        assert pq.read_table(out / f"{name}.parquet").num_rows > 0, name
    for name in ("length_distribution", "top_nouns", "captioners"):
        with Image.open(out / "plots" / f"{name}.png") as image:
            assert image.format == "PNG" and image.width > 300
    text = report.read_text()
    assert "# Caption statistics: run-test" in text
    for heading in ("## Funnel", "ParaDiffusion Table 1", "ELLA Tables 1-2", "Length buckets",
                    "Top 20 nouns"):
        assert heading in text
    assert "![length_distribution](plots/length_distribution.png)" in text
    summary = pq.read_table(out / "summary.parquet").to_pylist()
    overall = next(r for r in summary if r["grouping"] == "all" and r["text"] == "caption")
    assert f"| all | caption | {overall['images']} |" in text


def test_report_of_an_all_rejected_run(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", {"s": [manifest_row(status="error", error="boom")]})
    report = write_run_report(run)
    assert "| laion | error | boom | 1 | 100.0% |" in report.read_text()


def test_markdown_table_escapes_cells() -> None:
    assert markdown_table(["a"], [["x|y\nz"]]).splitlines()[2] == "| x\\|y z |"
    # line breaks of any kind become one space; other unprintables are escaped
    row = ["tior\x1a", "a\r\n\u2028b\u200bc\x7f"]
    assert markdown_table(["a", "b"], [row]).splitlines()[2] == "| tior\\x1a | a b\\u200bc\\x7f |"


def test_top_nouns_plot_escapes_control_characters(tmp_path: Path) -> None:
    # A captioner's stray control bytes end up as nouns; no font has glyphs for them, and
    # two nouns that print alike must stay two bars.
    nouns = pa.table({
        "text": [CAPTION_SIDE, CAPTION_SIDE, CAPTION_SIDE, ALT_TEXT_SIDE],
        "noun": ["dog\x1a", "café", "dog\x04", "cat"],
        "share": [0.5, 0.4, 0.3, 0.2],
    })
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns of each missing glyph
        path = plot_top_nouns(nouns, tmp_path / "top_nouns.png")
    assert path.is_file()
    assert printable("dog\x1a") == "dog\\x1a" and printable("café") == "café"
