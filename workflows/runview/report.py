"""``paraimage report``: a run as one static HTML folder that opens from disk.

    RUN_DIR/report/index.html     the page (CSS and script inline, no external request)
    RUN_DIR/report/thumbs/*.jpg   thumbnails of the sampled rows (open_image_ref)
    RUN_DIR/report/stats/plots/   the statistics plots, copied from RUN_DIR/stats/plots

The page holds the funnel (an inline SVG, from ``RUN_DIR/funnel/funnel.parquet`` when
the job wrote it), the summary counts with every reject reason and error kind linked to
example rows, what to look at first (findings.py), the captioners compared, a seeded
sample of kept images with their captions, flags and scores, rejected and error rows
per reason, and the statistics report (``RUN_DIR/stats/report.md``, as HTML; nothing is
recomputed). Samples are drawn by DuckDB (sampling.py), so the page's size depends on
the sample, not on the run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import pyarrow.parquet as pq

from paraimage.atomic import atomic_write
from paraimage.rundir import RunDir
from paraimage.summary import RunSummary, summarize
from workflows.runview.captioners import compare_captioners
from workflows.runview.cards import Card, build_card
from workflows.runview.charts import FunnelStep, funnel_svg
from workflows.runview.findings import anchor, findings
from workflows.runview.markdown import markdown_to_html
from workflows.runview.regions import add_regions, run_mosaic_config
from workflows.runview.sampling import connect, draw_sample
from workflows.runview.status import run_status
from workflows.runview.thumbnails import THUMB_SIZE, make_thumbnails

REPORT_DIR = "report"
INDEX = "index.html"
THUMBS = "thumbs"
DEFAULT_SAMPLE = 60
DEFAULT_PER_REASON = 12
MAX_SAMPLE = 5000  # a page of more thumbnails stops being a page
_HERE = Path(__file__).parent


@dataclass(frozen=True)
class ReportOptions:
    sample: int = DEFAULT_SAMPLE
    per_reason: int = DEFAULT_PER_REASON
    seed: int = 0
    thumb_size: int = THUMB_SIZE

    def __post_init__(self) -> None:
        for name in ("sample", "per_reason"):
            value = getattr(self, name)
            if not 0 <= value <= MAX_SAMPLE:
                raise ValueError(f"--{name.replace('_', '-')} must be 0..{MAX_SAMPLE}, "
                                 f"not {value}")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ReportOptions:
        return cls(
            sample=DEFAULT_SAMPLE if args.sample is None else args.sample,
            per_reason=DEFAULT_PER_REASON if args.per_reason is None else args.per_reason,
            seed=args.seed,
        )


def funnel_steps(run_dir: Path, summary: RunSummary) -> list[FunnelStep]:
    """Inputs, errors, each filter (the job's funnel.parquet, else each reject reason,
    largest first), kept."""
    errors = summary.by_status.get("error", 0)
    steps = [FunnelStep("inputs", summary.inputs),
             FunnelStep("errors", summary.inputs - errors, errors, "#errors")]
    funnel = run_dir / "funnel" / "funnel.parquet"
    if funnel.exists():
        for row in pq.read_table(funnel).to_pylist():
            steps.append(FunnelStep(row["filter"], int(row["passed"]), int(row["rejected"]),
                                    "#rejected"))
    else:
        remaining = summary.inputs - errors
        for reason, count in summary.by_reject_reason.items():
            remaining -= count
            steps.append(FunnelStep(reason, remaining, count,
                                    "#" + anchor("rejected", reason)))
    steps.append(FunnelStep("kept", summary.by_status.get("kept", 0)))
    return steps


def stats_section(run_dir: Path, out: Path) -> str | None:
    """The statistics report as HTML, its plots copied beside the page; None when the
    run has none."""
    stats = run_dir / "stats"
    report = stats / "report.md"
    if not report.exists():
        return None
    target = out / "stats" / "plots"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for plot in sorted((stats / "plots").glob("*.png")):
        shutil.copyfile(plot, target / plot.name)
    return markdown_to_html(report.read_text(), image_src=lambda src: f"stats/{src}")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_HERE / "templates"), autoescape=True,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    env.globals["anchor"] = anchor
    return env


def _options(cards: list[Card], attribute: str) -> list[str]:
    values: set[str] = set()
    for card in cards:
        value = getattr(card, attribute)
        values.update(value if isinstance(value, list) else [value] if value else [])
    return sorted(values)


def write_report(run_dir: Path, out: Path | None = None,
                 options: ReportOptions | None = None) -> Path:
    """Write the report folder (default ``RUN_DIR/report``); returns its index.html."""
    options = options or ReportOptions()
    run_dir = Path(run_dir)
    out = Path(out) if out is not None else run_dir / REPORT_DIR
    manifests = RunDir(run_dir).manifest_files()
    if not manifests:
        raise ValueError(f"{run_dir} has no manifests yet: nothing to report")
    summary = summarize(manifests)
    con = connect(manifests)
    sample = draw_sample(con, options.sample, options.per_reason, options.seed)
    rows = [*sample.kept, *(r for rs in sample.rejected.values() for r in rs),
            *(r for rs in sample.errors.values() for r in rs)]
    add_regions(rows, run_mosaic_config(run_dir))
    out.mkdir(parents=True, exist_ok=True)
    for stale in (out / THUMBS).glob("*.jpg"):
        stale.unlink()
    thumbs = make_thumbnails({r["id"]: r["image_ref"] for r in rows}, out / THUMBS,
                             options.thumb_size)
    kept = [build_card(r, thumbs[r["id"]]) for r in sample.kept]
    rejected = {k: [build_card(r, thumbs[r["id"]]) for r in v]
                for k, v in sample.rejected.items()}
    errors = {k: [build_card(r, thumbs[r["id"]]) for r in v] for k, v in sample.errors.items()}
    every = [*kept, *(c for cs in rejected.values() for c in cs),
             *(c for cs in errors.values() for c in cs)]
    context: dict[str, Any] = {
        "title": run_dir.name,
        "status": run_status(run_dir),
        "summary": summary,
        "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "options": options,
        "findings": findings(summary),
        "funnel_svg": funnel_svg(funnel_steps(run_dir, summary), summary.inputs),
        "captioners": compare_captioners(con),
        "kept": kept, "rejected": rejected, "errors": errors,
        "filters": {
            "source": _options(every, "source"),
            "captioner": _options(every, "captioners"),
            "flag": sorted({*_options(every, "flags"), *summary.by_caption_flag}),
            "reason": sorted({*_options(every, "reason"), *summary.by_reject_reason,
                              *summary.by_error_kind}),
        },
        "stats_html": stats_section(run_dir, out),
        "css": (_HERE / "assets" / "report.css").read_text(),
        "js": (_HERE / "assets" / "report.js").read_text(),
    }
    html = _environment().get_template("report.html.j2").render(**context)
    index = out / INDEX
    atomic_write(index, html)
    return index
