"""The dataset card, ``OUT/README.md``: what the release holds and how it was made.

Written from the run alone (its saved config, run.json, funnel/ and stats/) and the
export's own counts, with no clock in it, so re-exporting gives the same card. The
Hugging Face front matter names the shards, so ``load_dataset(OUT)`` finds them.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from paraimage.export.mixing import VARIANT_NAMES
from paraimage.export.options import ExportOptions
from paraimage.export.out_dir import ExportDir
from paraimage.export.run_info import RunInfo
from paraimage.export.samples import FIELD_DOCS, SAMPLE_SCHEMA
from stats.report import markdown_table

# Terms of each source kind (or URL+text preset). Metadata licences are the dataset
# authors'; none of them grants rights to the images themselves.
LICENCES: dict[str, tuple[str, str]] = {
    "laion": ("LAION-Aesthetics", "The metadata (URLs, alt-texts, scores) is released by "
              "LAION under CC-BY 4.0. The images are not: each keeps its own copyright and "
              "licence, held by its owner. Honour opt-outs and takedown requests."),
    "coyo": ("COYO-700M", "Metadata by Kakao Brain under CC-BY 4.0; the images keep their "
             "own copyright and licence."),
    "datacomp": ("DataComp CommonPool", "Metadata under CC-BY 4.0; the images keep their "
                 "own copyright and licence."),
    "cc12m": ("Conceptual 12M", "Google's metadata may be used for any purpose (crediting "
              "Google LLC as the source is requested); the images keep their own copyright."),
    "sa1b": ("SA-1B", "Images under the SA-1B Dataset Research License (Meta): research "
             "use only, on the licence's terms; read it before redistributing any image."),
    "folder": ("local folder", "The user's own images: the terms of whoever holds their "
               "rights apply."),
    "webdataset": ("local webdataset shards", "The user's own shards: the terms of whoever "
                   "holds the rights to their images and texts apply."),
    "sample_photos": ("package sample photos", "Demo photographs shipped by scikit-image "
                      "(`skimage.data`) and matplotlib (`grace_hopper.jpg`); each package "
                      "documents its images' licences (public domain or free to use). The "
                      "edge cases are generated. For demos and tests only."),
    "demo_laion": ("demo LAION path", "LAION-style metadata made up by the demo, its URLs "
                   "served from 127.0.0.1 out of the package sample photos (see "
                   "sample_photos). For demos and tests only."),
}
UNKNOWN_LICENCE = ("unknown source", "No terms are recorded for this source kind: check "
                   "the licence of the data fed in before releasing it.")
# The settings worth a line in the card, per filter (the full config is in _export/).
FILTER_SETTINGS: dict[str, tuple[str, ...]] = {
    "resolution": ("min_short_edge", "max_aspect_ratio"),
    "watermark": ("max_pwatermark",),
    "nsfw": ("max_punsafe",),
    "mosaic": ("threshold", "pixelation", "blur"),
    "dedup": ("max_hamming",),
    "aesthetic": ("threshold", "clip_model", "recompute"),
}
_FILTER_MODES = {"on": "rejects", "score_only": "scores only, rejects nothing"}
_STATS_LEFT_OUT = ("Funnel", "Tables")
_SIZE_CATEGORIES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                    (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M"),
                    (100_000_000, "10M<n<100M"))


def source_terms(source: Mapping[str, Any]) -> tuple[str, str]:
    for key in (source.get("preset"), source.get("kind")):
        if key in LICENCES:
            return LICENCES[key]
    return UNKNOWN_LICENCE


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


def render_card(
    run: RunInfo, options: ExportOptions, report: Mapping[str, Any],
    run_counts: Sequence[Mapping[str, Any]], caption_models: Mapping[str, int],
    caption_variants: Sequence[Mapping[str, Any]] = (),
) -> str:
    """``run_counts``: rows per (source, status) of the whole run; ``caption_models``:
    exported samples per captioner; ``caption_variants``: the selection's
    ``Selection.caption_variants()``."""
    counts = report["counts"]
    pattern = f"shard-*.{options.extension}"
    parts = [
        _front_matter(run, options, pattern, counts),
        f"# {run.run_id}: images with long captions",
        _intro(run, options, report, caption_models),
        "## Loading",
        _loading(options, pattern, counts["by_image_ext"]),
        "## Files and fields",
        _schema(options),
        "## Selection and caption mix",
        _selection(options, report),
        "## How it was made",
        _sources(run, run_counts, report),
        _filters(run),
        _captioner(run, caption_models, caption_variants),
        "## Funnel",
        _funnel(run),
        "## Caption statistics",
        _statistics(run, counts),
        "## Counts",
        _counts(report),
        "## Licences and terms",
        _licences(run, caption_models),
        "## Provenance",
        _provenance(run, options),
    ]
    return "\n\n".join(part.strip("\n") for part in parts if part) + "\n"


def _front_matter(run: RunInfo, options: ExportOptions, pattern: str,
                  counts: Mapping[str, Any]) -> str:
    exported = counts["exported"]
    size = next((label for bound, label in _SIZE_CATEGORIES if exported < bound), "n>100M")
    lines = [
        "---", f"pretty_name: {run.run_id}", "license: other",
        "task_categories:", "- text-to-image", "- image-to-text",
        "size_categories:", f"- {size}",
    ]
    if _hub_loadable(options, counts["by_image_ext"]):
        lines += ["configs:", "- config_name: default", "  data_files:", "  - split: train",
                  f"    path: \"{pattern}\""]
    return "\n".join([*lines, "---"])


def _hub_loadable(options: ExportOptions, extensions: Mapping[str, int]) -> bool:
    """Parquet carries its schema. Hugging Face's webdataset loader wants the same files
    in every sample and infers the JSON's types from the first few samples (a field null
    there and text later fails), so tars load with the webdataset library instead."""
    del extensions
    return options.format == "parquet"


def _intro(run: RunInfo, options: ExportOptions, report: Mapping[str, Any],
           caption_models: Mapping[str, int]) -> str:
    counts = report["counts"]
    models = ", ".join(f"`{m}`" for m in caption_models) or "no captioner"
    target = f"~{run.target_words}-word " if run.target_words else ""
    return (
        f"{counts['exported']} images with {target}captions by {models}, selected from run "
        f"`{run.run_id}` of the ParaImage recaption pipeline and written as "
        f"{len(report['shards'])} {options.format} shard(s). Each image is the original file "
        "of its source, byte for byte; each sample carries every caption variant of its "
        "row, and one of them, chosen by the caption mix, is the training text."
    )


def _loading(options: ExportOptions, pattern: str, extensions: Mapping[str, int]) -> str:
    if options.format == "parquet":
        return (
            "```python\nfrom datasets import Image, load_dataset\n\n"
            f"dataset = load_dataset(\"parquet\", data_files=\"OUT/{pattern}\", split=\"train\")\n"
            "dataset = dataset.cast_column(\"image\", Image())  # decode to PIL on access\n"
            "# or streaming=True: row groups of "
            f"{options.row_group_rows} samples are read one at a time\n```"
        )
    keys = " or ".join(f'sample.get("{ext}")' for ext in extensions) or 'sample["jpg"]'
    code = (
        "```python\nimport glob, json, webdataset as wds\n\n"
        f"dataset = wds.WebDataset(sorted(glob.glob(\"OUT/{pattern}\")), shardshuffle=False)\n"
        "for sample in dataset:  # sample[\"__key__\"] is the id\n"
        f"    image_bytes = {keys}\n"
        "    text = sample[\"txt\"].decode()\n    meta = json.loads(sample[\"json\"])\n```"
    )
    formats = ", ".join(f"{ext} {n}" for ext, n in extensions.items())
    hub = (f"Images keep their original formats ({formats}). For Hugging Face `datasets`, "
           "export with `--format parquet`: its loader for tars wants the same files in "
           "every sample and guesses the JSON's types from the first few samples.")
    return code + "\n\n" + hub


def _schema(options: ExportOptions) -> str:
    if options.format == "webdataset":
        layout = (
            "Plain tars (`shard-00000.tar`, ...), three files per sample, keyed by `id`: "
            "`<id>.<image_ext>` (the original bytes), `<id>.txt` (the training text, UTF-8) "
            "and `<id>.json` (all other fields below; the text variants nested under "
            "`captions`: `caption` with model, prompt, length target, sampling parameters, "
            "finish reason and QA flags; `caption_short`, `caption_raw` and `alt_text`; "
            "every variant is present, its `text` null where the row has none)."
        )
    else:
        layout = (
            "Parquet files (`shard-00000.parquet`, ...), one row per sample, row groups of "
            f"{options.row_group_rows} rows; `image` is stored uncompressed, the rest zstd."
        )
    rows = [[f"`{f.name}`", _type_name(f.type), FIELD_DOCS[f.name]] for f in SAMPLE_SCHEMA]
    return layout + "\n\n" + markdown_table(["field", "type", "meaning"], rows)


def _type_name(data_type: pa.DataType) -> str:
    """Short type names: nested structs are spelled out in the field's meaning."""
    if pa.types.is_list(data_type):
        return f"list<{_type_name(data_type.value_type)}>"
    return "struct" if pa.types.is_struct(data_type) else str(data_type)


def _selection(options: ExportOptions, report: Mapping[str, Any]) -> str:
    mix = report["mix"]
    tally = mix["tally"]
    exported = report["counts"]["exported"]
    shown = set(options.mix) | set(tally["used"])
    names = [n for n in VARIANT_NAMES if n in shown] + sorted(shown - set(VARIANT_NAMES))
    rows = [
        [name, _pct(options.mix.get(name, 0.0)), tally["drawn"].get(name, 0),
         tally["used"].get(name, 0),
         _pct(tally["used"].get(name, 0) / exported if exported else None)]
        for name in names
    ]
    fallbacks = tally["fallbacks"]
    lines = [
        f"Rows: `{options.where}`, ordered by {_order(options.order)}.",
        f"Training text (`.txt` / `text`): variants drawn per sample by a hash of "
        f"(seed {options.seed}, id), so the choice is reproducible and independent of order. "
        "An empty drawn variant falls back to the other variants of the mix by weight, then "
        "to any other variant.",
        markdown_table(["variant", "asked", "drawn", "written", "share written"], rows),
        ("Fallbacks: " + ", ".join(f"{k} {v}" for k, v in fallbacks.items()) + ".")
        if fallbacks else "No fallbacks were needed.",
    ]
    return "\n\n".join(lines)


def _order(order: str) -> str:
    return "`id` (a hash: sources mix across shards)" if order == "id" else \
        "`source, source_key` (the order images lie in their sources)"


def _sources(run: RunInfo, run_counts: Sequence[Mapping[str, Any]],
             report: Mapping[str, Any]) -> str:
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
    table = markdown_table(["source", "kind", "location", "inputs", "kept", "exported"], rows)
    return "### Sources\n\n" + table


def _where(source: Mapping[str, Any]) -> str:
    for key in ("path", "paths", "metadata", "links_file", "cache_dir"):
        value = source.get(key)
        if value:
            return ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return ""


def _filters(run: RunInfo) -> str:
    filters = run.config.get("filters") or {}
    lines = []
    max_pixels = (run.config.get("decode") or {}).get("max_pixels")
    if max_pixels:
        lines.append(f"* decode: undecodable, animated and over-{max_pixels:,}-pixel images "
                     "are dropped")
    for source in run.sources:
        prefilter = {k: v for k, v in (source.get("prefilter") or {}).items() if v is not None}
        if prefilter:
            settings = ", ".join(f"{k}={v}" for k, v in prefilter.items())
            lines.append(f"* prefilter of {source_name(source)} (on metadata, before "
                         f"download): {settings}")
    for name, keys in FILTER_SETTINGS.items():
        config = filters.get(name)
        if not config or config.get("mode") == "off":
            continue
        settings = ", ".join(f"{key}={config[key]}" for key in keys if key in config)
        mode = config.get("mode", "on")
        lines.append(f"* {name} ({_FILTER_MODES.get(mode, mode)}): {settings}")
    if not run.config:
        return "### Filters\n\nThe run's config.yaml is missing: filters unknown."
    if not lines:
        lines.append("* no filters")
    return ("### Filters and thresholds\n\nIn the order rows met them; the full configuration "
            "is `_export/run_config.yaml`.\n\n" + "\n".join(lines))


def _captioner(run: RunInfo, caption_models: Mapping[str, int],
               caption_variants: Sequence[Mapping[str, Any]]) -> str:
    captioner = run.captioner
    if not captioner:
        return "### Captioner\n\nThe run's config.yaml is missing: captioner unknown."
    prompt = str(captioner.get("prompt", ""))
    if run.target_words is not None:
        prompt = prompt.replace("{n_words}", str(run.target_words))
    sampling = captioner.get("sampling") or {}
    qa = (captioner.get("qa") or {}).get("policies") or {}
    lines = [
        f"* backend: {captioner.get('backend', 'vllm')}, model `{captioner.get('model')}`",
        f"* prompt: \"{prompt}\" (length target {run.target_words} words)",
        "* sampling: " + ", ".join(f"{k}={v}" for k, v in sampling.items()),
        "* caption QA policies: " + (", ".join(f"{k}: {v}" for k, v in qa.items())
                                     or "flag only (keep)"),
    ]
    if caption_models:
        lines.append("* captions in this export by model: " + ", ".join(
            f"`{model}` {n}" for model, n in caption_models.items()))
    text = "### Captioner\n\n" + "\n".join(lines)
    if caption_variants:
        rows = [[v["captioner"], v["variant"], v["model"], v["target_words"], v["prompt"],
                 f"{v['ok']}/{v['rows']}", _num(v["mean_words"]),
                 ", ".join(f"`{n}`" for n in v["names"])] for v in caption_variants]
        text += ("\n\nEvery caption of the exported images (`caption_variants`; ok = passed "
                 "caption QA):\n\n" + markdown_table(
                     ["captioner", "variant", "model", "target words", "prompt", "ok/rows",
                      "mean words", "mix name"], rows))
    return text


def _funnel(run: RunInfo) -> str:
    parts = []
    path = run.root / "funnel" / "funnel.md"
    if path.exists():
        parts.append(re.sub(r"^# Filter funnel\s*", "", path.read_text()))
    else:
        parts.append("The run has no filter funnel (`funnel/funnel.md`): it ran no filters.")
    by_reason = _stats_sections(run).get("Funnel")
    if by_reason:
        parts.append("### Rows per source, status and reason\n\n" + by_reason)
    return "\n\n".join(parts)


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


def _statistics(run: RunInfo, counts: Mapping[str, Any]) -> str:
    sections = _stats_sections(run)
    if not sections:
        return ("The run has no statistics (`stats/report.md`); run `paraimage stats "
                f"{run.root}` and export again to add them here.")
    # The funnel is shown above; the report's Parquet tables stay with the run.
    shown = [f"### {heading}\n\n{body}" for heading, body in sections.items()
             if heading not in _STATS_LEFT_OUT]
    note = (f"From the run's statistics report (`stats/report.md`), over the run's "
            f"{counts['kept_in_run']} kept rows; this export holds {counts['exported']} "
            "samples. The plots are copied into `plots/`.")
    return note + "\n\n" + "\n\n".join(shown)


def _counts(report: Mapping[str, Any]) -> str:
    counts = report["counts"]
    skipped = counts["skipped"]
    rows = [["selected rows", counts["selected"]], ["exported samples", counts["exported"]]]
    rows += [[f"skipped: {reason}", n] for reason, n in sorted(skipped.items())]
    total = sum(shard["bytes"] for shard in report["shards"])
    rows += [["shards", len(report["shards"])], ["bytes", f"{total:,} ({_size(total)})"]]
    text = markdown_table(["", "count"], rows)
    if skipped:
        text += ("\n\nSkipped rows are listed with their reason in `_export/shards/*.json` "
                 "(first examples per shard).")
    return text


def _licences(run: RunInfo, caption_models: Mapping[str, int]) -> str:
    rows = []
    for source in run.sources or [{"kind": None}]:
        title, terms = source_terms(source)
        rows.append([source_name(source), title, terms])
    models = ", ".join(f"`{m}`" for m in caption_models) or "the captioner"
    return (
        markdown_table(["source", "dataset", "terms"], rows)
        + f"\n\nCaptions were generated by {models}: the model's licence and terms of use "
        "may restrict how its outputs are used; check them. Alt-texts come from the source "
        "metadata and follow the source's terms. This card states what was done; it does "
        "not grant rights the sources do not."
    )


def _provenance(run: RunInfo, options: ExportOptions) -> str:
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
    # a null commit is a run from outside a git checkout (a release tarball)
    code = first.get("git_commit", "?") or "no git checkout"
    lines = [
        f"* run `{run.run_id}` (config fingerprint `{run.fingerprint}`), started "
        f"{first.get('started', '?')}, code `{code}`",
        "* packages: " + (", ".join(f"{k} {v}" for k, v in versions.items()) or "not recorded"),
        f"* export: `{command}`",
        "* re-running the same command on the same run gives byte-identical shards; "
        "`_export/options.json` holds the options and the digest of the selected rows.",
    ]
    return "\n".join(lines)


def _size(n_bytes: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n_bytes < 1000:
            return f"{n_bytes:.0f} {unit}" if unit == "B" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1000
    return f"{n_bytes:.1f} TB"


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _pct(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.1f}%"
