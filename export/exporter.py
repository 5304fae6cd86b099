"""One export: select the rows, fix the shard plan, write the missing shards, the card.

Per-row problems never stop an export silently or crash it: an image the row points at
that is gone or unreadable (``image_missing``), or whose bytes no longer match the
manifest (``image_changed``: another size than ``n_bytes``, or with ``verify="sha256"``
another SHA-256 than ``sha256``), is left out and counted, or, with
``on_missing_image="fail"``, stops the export with the row named (shards already
written stay; a rerun resumes). A row with no text in any variant is left out as
``no_text``.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
from tqdm import tqdm

from export.card import copy_plots, render_card
from export.images import ImageRead, ImageReader, image_extension
from export.mixing import CaptionMix, MixTally, is_caption_variant, variant_texts
from export.options import ExportError, ExportOptions
from export.out_dir import ExportDir
from export.parquet_writer import ParquetShardWriter
from export.run_info import RunInfo
from export.samples import ExportSample, build_sample
from export.selection import Selection, SelectionPlan, ShardPlan
from export.webdataset_writer import WebDatasetShardWriter
from paraimage.atomic import atomic_write
from paraimage.manifest import STATUS_KEPT

SKIP_IMAGE_MISSING = "image_missing"
SKIP_IMAGE_CHANGED = "image_changed"
SKIP_NO_TEXT = "no_text"
MAX_SKIP_EXAMPLES = 5  # per reason per shard, as i2d's CappedCounter keeps logs short


class ShardWriter(Protocol):
    extension: str

    def write(self, path: Path, samples: Iterator[ExportSample]) -> int: ...


WRITERS: dict[str, type[ShardWriter]] = {
    "webdataset": WebDatasetShardWriter,
    "parquet": ParquetShardWriter,
}


@dataclass
class ExportSummary:
    out: Path
    run_id: str
    selected: int
    exported: int
    shards: int
    shards_written: int
    skipped: dict[str, int]
    mix: MixTally
    weights: dict[str, float]
    resumed: bool
    report: dict[str, Any] = field(default_factory=dict)

    def lines(self) -> list[str]:
        skipped = ", ".join(f"{k} {v}" for k, v in sorted(self.skipped.items())) or "none"
        return [
            f"export of run {self.run_id}: {self.selected} rows selected, {self.shards} "
            f"shard(s) in {self.out}",
            f"shards: {self.shards_written} written, {self.shards - self.shards_written} "
            "complete from an earlier invocation" + (" (resumed)" if self.resumed else ""),
            f"samples: {self.exported} exported; skipped: {skipped}",
            self.mix.describe(self.weights),
            f"card: {self.out / 'README.md'}",
        ]


class _ShardStats:
    """Counts of one shard, as stored in ``_export/shards/<shard>.json``."""

    def __init__(self, shard: ShardPlan) -> None:
        self.shard = shard
        self.mix = MixTally()
        self.skipped: Counter[str] = Counter()
        self.examples: dict[str, list[str]] = {}
        self.sources: Counter[str] = Counter()
        self.models: Counter[str] = Counter()
        self.extensions: Counter[str] = Counter()

    def skip(self, reason: str, row: dict[str, Any], detail: str) -> None:
        self.skipped[reason] += 1
        examples = self.examples.setdefault(reason, [])
        if len(examples) < MAX_SKIP_EXAMPLES:
            examples.append(f"{row['id']} ({row['source']}/{row['source_key']}): {detail}")

    def to_dict(self, n_samples: int) -> dict[str, Any]:
        return {
            "name": self.shard.name, "n_rows": self.shard.n_rows, "n_samples": n_samples,
            "skipped": dict(sorted(self.skipped.items())), "skipped_examples": self.examples,
            "by_source": dict(sorted(self.sources.items())),
            "by_caption_model": dict(sorted(self.models.items())),
            "by_image_ext": dict(sorted(self.extensions.items())),
            "mix": self.mix.to_dict(),
        }


class Exporter:
    def __init__(self, options: ExportOptions, progress: bool = True) -> None:
        self.options = options
        self.progress = progress
        self.run = RunInfo.load(options.run_dir)
        self.selection = Selection(self.run.root, options.where, options.order)
        self.mix = CaptionMix(options.mix, options.seed)
        self._check_caption_variants()
        self.writer = WRITERS[options.format](options.row_group_rows)
        self.out = ExportDir(options.out)

    def _check_caption_variants(self) -> None:
        """A ``variant:`` name in the mix must name a caption some selected row has."""
        wanted = [name for name in self.options.mix if is_caption_variant(name)]
        if not wanted:
            return
        available = sorted({n for entry in self.selection.caption_variants()
                            for n in entry["names"]})
        missing = [name for name in wanted if name not in available]
        if missing:
            raise ExportError(
                f"--mix: {', '.join(missing)} is in no selected row's caption_variants; "
                f"they hold: {', '.join(available) or 'nothing'}"
            )

    def run_export(self) -> ExportSummary:
        options = self.options
        plan = self.selection.plan(options.shard_name, options.shard_samples, options.shard_bytes)
        if plan.n_rows == 0:
            raise ExportError(f"nothing to export: {self.selection.describe_empty()}")
        resumed = self.out.prepare(self._header(plan))
        run_config = self.run.root / "config.yaml"
        if run_config.exists():  # the whole config travels with the release
            shutil.copyfile(run_config, self.out.state / "run_config.yaml")
        all_stats: list[dict[str, Any]] = []
        written = 0
        try:
            with ImageReader(sha256=options.verify == "sha256") as reader, tqdm(
                total=plan.n_rows, unit="row", desc="export", disable=not self.progress
            ) as bar:
                for shard, rows in self.selection.iter_shard_rows(plan):
                    stats = self.out.completed_stats(shard)
                    if stats is None:
                        stats = self.out.write_shard(
                            shard, lambda tmp, s=shard, r=rows: self._write(tmp, s, r, reader)
                        )
                        written += 1
                    all_stats.append(stats)
                    bar.update(shard.n_rows)
        finally:  # shards written before an error are sealed, so a rerun keeps them
            self.out.wait_sealed()
        return self._finish(plan, all_stats, written, resumed)

    def _header(self, plan: SelectionPlan) -> dict[str, Any]:
        return {
            "options": self.options.fingerprint_fields(),
            "run": {"run_id": self.run.run_id, "fingerprint": self.run.fingerprint,
                    "path": str(self.run.root)},
            "selection": {"rows": plan.n_rows, "digest": plan.digest},
            "shards": [shard.to_dict() for shard in plan.shards],
        }

    def _write(self, tmp: Path, shard: ShardPlan, rows: pa.Table,
               reader: ImageReader) -> dict[str, Any]:
        stats = _ShardStats(shard)
        try:
            n_samples = self.writer.write(tmp, self._samples(rows, reader, stats))
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return stats.to_dict(n_samples)

    def _samples(self, rows: pa.Table, reader: ImageReader,
                 stats: _ShardStats) -> Iterator[ExportSample]:
        target_words = self.run.target_words
        with_text = []
        for row in rows.to_pylist():
            texts = variant_texts(row, self.mix.weights)
            choice = self.mix.choose(row["id"], texts)
            if choice.used is None:
                stats.skip(SKIP_NO_TEXT, row, "every caption variant is empty")
            else:
                with_text.append((row, texts, choice))
        reads = reader.read_all(row["image_ref"] for row, _, _ in with_text)
        for (row, texts, choice), read in zip(with_text, reads, strict=True):
            image = self._checked(row, read, stats)
            if image is None:
                continue
            stats.mix.add(choice)
            stats.sources[row["source"]] += 1
            if row["caption_model"]:
                stats.models[row["caption_model"]] += 1
            extension = image_extension(row["format"], image)
            stats.extensions[extension] += 1
            yield build_sample(row, image, extension, choice, texts, target_words)

    def _checked(self, row: dict[str, Any], read: ImageRead,
                 stats: _ShardStats) -> bytes | None:
        """The image bytes when they are there and still the row's, else a skip."""
        if read.data is None:
            return self._bad_image(SKIP_IMAGE_MISSING, row, str(read.error), stats)
        if read.sha256 is not None and row["sha256"] and read.sha256 != row["sha256"]:
            return self._bad_image(
                SKIP_IMAGE_CHANGED, row, f"bytes at {row['image_ref']} no longer match the "
                "manifest's sha256", stats)
        if row["n_bytes"] is not None and len(read.data) != row["n_bytes"]:
            return self._bad_image(
                SKIP_IMAGE_CHANGED, row, f"{len(read.data)} bytes at {row['image_ref']}, the "
                f"manifest says {row['n_bytes']}", stats)
        return read.data

    def _bad_image(self, reason: str, row: dict[str, Any], detail: str,
                   stats: _ShardStats) -> None:
        if self.options.on_missing_image == "fail":
            raise ExportError(
                f"{reason}: row {row['id']} ({row['source']}/{row['source_key']}): {detail}; "
                "pass --on-missing-image skip to leave such rows out"
            )
        stats.skip(reason, row, detail)
        return None

    def _finish(self, plan: SelectionPlan, all_stats: list[dict[str, Any]], written: int,
                resumed: bool) -> ExportSummary:
        mix = MixTally()
        skipped: Counter[str] = Counter()
        by_source: Counter[str] = Counter()
        models: Counter[str] = Counter()
        extensions: Counter[str] = Counter()
        for stats in all_stats:
            mix.merge(MixTally.from_dict(stats["mix"]))
            skipped.update(stats["skipped"])
            by_source.update(stats["by_source"])
            models.update(stats["by_caption_model"])
            extensions.update(stats["by_image_ext"])
        exported = sum(stats["n_samples"] for stats in all_stats)
        run_counts = self.selection.run_counts()
        report = {
            "run_id": self.run.run_id,
            "format": self.options.format,
            "where": self.options.where,
            "counts": {
                "kept_in_run": sum(r["n"] for r in run_counts if r["status"] == STATUS_KEPT),
                "selected": plan.n_rows, "exported": exported,
                "skipped": dict(sorted(skipped.items())),
                "by_source": dict(sorted(by_source.items())),
                "by_caption_model": dict(sorted(models.items())),
                "by_image_ext": dict(sorted(extensions.items())),
            },
            "mix": {"weights": self.options.mix, "seed": self.options.seed,
                    "achieved": mix.shares(), "tally": mix.to_dict()},
            "shards": [{k: stats[k] for k in ("name", "n_rows", "n_samples", "bytes")}
                       for stats in all_stats],
        }
        self.out.write_report(report)
        copy_plots(self.run, self.out)
        card = render_card(self.run, self.options, report, run_counts,
                           dict(sorted(models.items(), key=lambda item: (-item[1], item[0]))),
                           self.selection.caption_variants())
        atomic_write(self.out.card_path, card)
        return ExportSummary(
            out=self.out.root, run_id=self.run.run_id, selected=plan.n_rows, exported=exported,
            shards=len(plan.shards), shards_written=written, skipped=dict(skipped), mix=mix,
            weights=self.options.mix, resumed=resumed, report=report,
        )


def export_run(options: ExportOptions, progress: bool = True) -> ExportSummary:
    """Export ``options.run_dir`` to ``options.out``; raises ``ExportError`` on bad input."""
    return Exporter(options, progress=progress).run_export()
