"""The dataset card, ``OUT/README.md``: what the release holds and how it was made.

Written from the run alone (its saved config, run.json, funnel/ and stats/) and the
export's own counts, with no clock in it, so re-exporting gives the same card. This
module works out the values; ``templates/card.md.j2`` holds the wording and layout. The
Hugging Face front matter names the shards, so ``load_dataset(OUT)`` finds them.
"""

from __future__ import annotations

import functools
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2
import pyarrow as pa
from pydantic import ByteSize

import demo  # noqa: F401  (the demo's source kinds, for runs of the demo)
from curation.registry import source_terms as registered_terms
from export.mixing import VARIANT_NAMES
from export.options import ExportOptions
from export.out_dir import ExportDir
from export.run_info import RunInfo
from export.samples import FIELD_DOCS, SAMPLE_SCHEMA
from filters.registry import filter_kinds
from stats.report import markdown_table

_FILTER_MODES = {"on": "rejects", "score_only": "scores only, rejects nothing"}
_ORDERS = {"id": "`id` (a hash: sources mix across shards)",
           "source": "`source, source_key` (the order images lie in their sources)"}
CARD_TEMPLATE = "card.md.j2"
_STATS_LEFT_OUT = ("Funnel", "Tables")
_SIZE_CATEGORIES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                    (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M"),
                    (100_000_000, "10M<n<100M"))


def source_terms(source: Mapping[str, Any]) -> tuple[str, str]:
    """(dataset, terms) as the source kind registered them (metadata licences are the
    dataset authors'; none of them grants rights to the images themselves)."""
    return registered_terms(str(source.get("kind")), source.get("preset"))


def source_name(source: Mapping[str, Any]) -> str:
    return str(source.get("name") or source.get("kind"))


def copy_plots(run: RunInfo, out: ExportDir) -> list[Path]:
    """The run's statistics plots into OUT/plots (a release must stand on its own)."""
    plots = sorted((run.root / "stats" / "plots").glob("*.png"))
    if plots:
        out.plots.mkdir(exist_ok=True)
    for plot in plots:
        shutil.copyfile(plot, out.plots / plot.name)
    return [out.plots / plot.name for plot in plots]


@functools.cache
def _templates() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("export", "templates"),
        undefined=jinja2.StrictUndefined, autoescape=False,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    environment.filters["table"] = lambda rows, headers: markdown_table(headers, rows)
    return environment


def render_card(
    run: RunInfo, options: ExportOptions, report: Mapping[str, Any],
    run_counts: Sequence[Mapping[str, Any]], caption_models: Mapping[str, int],
    caption_variants: Sequence[Mapping[str, Any]] = (),
) -> str:
    """``run_counts``: rows per (source, status) of the whole run; ``caption_models``:
    exported samples per captioner; ``caption_variants``: the selection's
    ``Selection.caption_variants()``. The wording is ``templates/card.md.j2``."""
    counts = report["counts"]
    extensions = counts["by_image_ext"]
    stats_sections = _stats_sections(run)
    context = {
        "run": run, "options": options, "counts": counts,
        "n_shards": len(report["shards"]),
        "pattern": f"shard-*.{options.extension}",
        "size_category": next(
            (label for bound, label in _SIZE_CATEGORIES if counts["exported"] < bound),
            "n>100M"),
        "hub_loadable": _hub_loadable(options, extensions),
        "models": ", ".join(f"`{m}`" for m in caption_models),
        "target": f"~{run.target_words}-word " if run.target_words else "",
        "image_keys": " or ".join(f'sample.get("{ext}")' for ext in extensions)
        or 'sample["jpg"]',
        "image_formats": ", ".join(f"{ext} {n}" for ext, n in extensions.items()),
        "field_rows": [[f"`{f.name}`", _type_name(f.type), FIELD_DOCS[f.name]]
                       for f in SAMPLE_SCHEMA],
        "order": _ORDERS[options.order],
        **_selection(options, report),
        "source_rows": _source_rows(run, run_counts, report),
        **_filters(run),
        "captioner": _captioner(run),
        "caption_models": ", ".join(f"`{model}` {n}" for model, n in caption_models.items()),
        "variant_rows": [
            [v["captioner"], v["variant"], v["model"], v["target_words"], v["prompt"],
             f"{v['ok']}/{v['rows']}", _num(v["mean_words"]),
             ", ".join(f"`{n}`" for n in v["names"])] for v in caption_variants],
        "funnel": _funnel(run),
        "stats_sections": stats_sections,
        # the funnel is shown in its own section; the report's Parquet tables stay with
        # the run
        "stats_left_out": _STATS_LEFT_OUT,
        "count_rows": _count_rows(report),
        "licence_rows": [[source_name(source), *source_terms(source)]
                         for source in run.sources or [{"kind": None}]],
        **_provenance(run, options),
    }
    return _templates().get_template(CARD_TEMPLATE).render(context)


def _hub_loadable(options: ExportOptions, extensions: Mapping[str, int]) -> bool:
    """Parquet carries its schema. Hugging Face's webdataset loader wants the same files
    in every sample and infers the JSON's types from the first few samples (a field null
    there and text later fails), so tars load with the webdataset library instead."""
    del extensions
    return options.format == "parquet"


def _type_name(data_type: pa.DataType) -> str:
    """Short type names: nested structs are spelled out in the field's meaning."""
    if pa.types.is_list(data_type):
        return f"list<{_type_name(data_type.value_type)}>"
    return "struct" if pa.types.is_struct(data_type) else str(data_type)


def _selection(options: ExportOptions, report: Mapping[str, Any]) -> dict[str, Any]:
    tally = report["mix"]["tally"]
    exported = report["counts"]["exported"]
    shown = set(options.mix) | set(tally["used"])
    names = [n for n in VARIANT_NAMES if n in shown] + sorted(shown - set(VARIANT_NAMES))
    rows = [
        [name, _pct(options.mix.get(name, 0.0)), tally["drawn"].get(name, 0),
         tally["used"].get(name, 0),
         _pct(tally["used"].get(name, 0) / exported if exported else None)]
        for name in names
    ]
    fallbacks = ", ".join(f"{k} {v}" for k, v in tally["fallbacks"].items())
    return {"mix_rows": rows, "fallbacks": fallbacks}


def _source_rows(run: RunInfo, run_counts: Sequence[Mapping[str, Any]],
                 report: Mapping[str, Any]) -> list[list[Any]]:
    by_source: dict[str, dict[str, int]] = {}
    for row in run_counts:
        by_source.setdefault(row["source"], {})[row["status"]] = row["n"]
    configured = {source_name(s): s for s in run.sources}
    exported = report["counts"]["by_source"]
    rows = []
    for name in sorted(set(configured) | set(by_source)):
        source = configured.get(name, {})
        statuses = by_source.get(name, {})
        rows.append([
            name, source.get("preset") or source.get("kind", "?"), _where(source),
            sum(statuses.values()), statuses.get("kept", 0), exported.get(name, 0),
        ])
    return rows


def _where(source: Mapping[str, Any]) -> str:
    for key in ("path", "paths", "metadata", "links_file", "cache_dir"):
        value = source.get(key)
        if value:
            return ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return ""


def _filters(run: RunInfo) -> dict[str, Any]:
    """The decode limit, each source's prefilter and each filter that ran, in the order
    rows met them: ``(name, settings)`` and ``(name, effect, settings)``."""
    max_pixels = (run.config.get("decode") or {}).get("max_pixels")
    prefilters = []
    for source in run.sources:
        prefilter = {k: v for k, v in (source.get("prefilter") or {}).items() if v is not None}
        if prefilter:
            prefilters.append((source_name(source),
                               ", ".join(f"{k}={v}" for k, v in prefilter.items())))
    filters = []
    for kind in filter_kinds():
        config = (run.config.get("filters") or {}).get(kind.name)
        if not config or config.get("mode") == "off":
            continue
        mode = config.get("mode", "on")
        effect = _FILTER_MODES.get(mode, mode)
        if config.get("sources"):
            effect += f" (on {', '.join(config['sources'])} only)"
        filters.append((kind.name, effect, ", ".join(
            f"{key}={config[key]}" for key in kind.card_settings if key in config)))
    return {"max_pixels": f"{max_pixels:,}" if max_pixels else "",
            "prefilters": prefilters, "filters": filters}


def _captioner(run: RunInfo) -> dict[str, str] | None:
    captioner = run.captioner
    if not captioner:
        return None
    prompt = str(captioner.get("prompt", ""))
    if run.target_words is not None:
        prompt = prompt.replace("{n_words}", str(run.target_words))
    sampling = captioner.get("sampling") or {}
    qa = (captioner.get("qa") or {}).get("policies") or {}
    return {
        "backend": str(captioner.get("backend", "vllm")),
        "model": str(captioner.get("model")),
        "prompt": prompt,
        "sampling": ", ".join(f"{k}={v}" for k, v in sampling.items()),
        "qa": ", ".join(f"{k}: {v}" for k, v in qa.items()),
    }


def _funnel(run: RunInfo) -> str:
    path = run.root / "funnel" / "funnel.md"
    if not path.exists():
        return ""
    return re.sub(r"^# Filter funnel\s*", "", path.read_text()).strip("\n")


def _stats_sections(run: RunInfo) -> dict[str, str]:
    """``stats/report.md`` split at its ``## `` headings: heading -> body."""
    path = run.root / "stats" / "report.md"
    if not path.exists():
        return {}
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in path.read_text().splitlines():
        if line.startswith("## "):
            current = sections.setdefault(line[3:].strip(), [])
        elif current is not None:
            current.append(line)
    return {heading: "\n".join(body).strip() for heading, body in sections.items()}


def _count_rows(report: Mapping[str, Any]) -> list[list[Any]]:
    counts = report["counts"]
    rows = [["selected rows", counts["selected"]], ["exported samples", counts["exported"]]]
    rows += [[f"skipped: {reason}", n] for reason, n in sorted(counts["skipped"].items())]
    total = ByteSize(sum(shard["bytes"] for shard in report["shards"]))
    rows += [["shards", len(report["shards"])],
             ["bytes", f"{total:,} ({total.human_readable(decimal=True)})"]]
    return rows


def _provenance(run: RunInfo, options: ExportOptions) -> dict[str, str]:
    first = run.first_invocation
    versions = first.get("package_versions") or {}
    mix = ",".join(f"{k}={v:g}" for k, v in options.mix.items())
    command = (
        f"paraimage export --run RUN_DIR --out OUT --format {options.format} "
        f"--where \"{options.where}\" --mix {mix} --seed {options.seed} "
        f"--shard-samples {options.shard_samples} --shard-bytes {options.shard_bytes} "
        f"--order {options.order} --on-missing-image {options.on_missing_image} "
        f"--verify {options.verify}"
        + (f" --row-group-rows {options.row_group_rows}" if options.format == "parquet" else "")
    )
    return {
        "started": str(first.get("started", "?")),
        # a null commit is a run from outside a git checkout (a release tarball)
        "code": str(first.get("git_commit", "?") or "no git checkout"),
        "packages": ", ".join(f"{k} {v}" for k, v in versions.items()),
        "command": command,
    }


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _pct(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.1f}%"
