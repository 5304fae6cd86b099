"""The export folder and its resume contract.

    OUT/shard-00000.tar|.parquet     the shards (complete once under this name)
    OUT/README.md                    the dataset card
    OUT/plots/*.png                  the run's statistics plots, shown by the card
    OUT/_export/options.json         options, run, selection digest and shard plan
    OUT/_export/shards/<shard>.json  per-shard counts (samples, skips, caption mix)
    OUT/_export/report.json          counts and achieved mix of the whole export

A shard is written to ``<name>.tmp``, its counts are written, then it is flushed to disk
and renamed (``paraimage.atomic``): a shard under its final name with its counts file
is complete, and a rerun skips it.
A rerun must ask for the same export of the same rows: ``options.json`` is compared
first, and a mismatch is refused (mixing shards of two exports would break the
"same options, same bytes" promise silently).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from export.options import ExportError
from export.selection import ShardPlan
from paraimage.atomic import TMP_SUFFIX, atomic_write, commit, temp_path

STATE_DIR = "_export"
CARD_NAME = "README.md"
PLOTS_DIR = "plots"


def _dump(data: Any) -> str:
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


class ExportDir:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.state = self.root / STATE_DIR
        self.options_path = self.state / "options.json"
        self.shard_stats = self.state / "shards"
        self.report_path = self.state / "report.json"
        self.card_path = self.root / CARD_NAME
        self.plots = self.root / PLOTS_DIR
        self._sealer: ThreadPoolExecutor | None = None
        self._sealing: list[Future[None]] = []

    def prepare(self, header: dict[str, Any]) -> bool:
        """Create OUT, or check it holds this same export; returns True when resuming."""
        if self.root.exists() and not self.root.is_dir():
            raise ExportError(f"--out {self.root} exists and is not a folder")
        resuming = self.options_path.exists()
        if resuming:
            try:
                previous = json.loads(self.options_path.read_text())
            except ValueError as exc:
                raise ExportError(
                    f"{self.options_path} is damaged ({exc}); use another --out"
                ) from exc
            differences = _differences(previous, header)
            if differences:
                raise ExportError(
                    f"{self.root} holds another export: " + "; ".join(differences)
                    + ". Use another --out, or delete it to start over."
                )
        elif self.root.exists() and any(self.root.iterdir()):
            raise ExportError(f"--out {self.root} is not empty and holds no export")
        self.shard_stats.mkdir(parents=True, exist_ok=True)
        if not resuming:
            atomic_write(self.options_path, _dump(header))
        for folder in (self.root, self.shard_stats):
            for leftover in folder.glob(f"*{TMP_SUFFIX}"):
                leftover.unlink()  # a killed writer's partial file; its shard is redone
        return resuming

    def shard_path(self, shard: ShardPlan) -> Path:
        return self.root / shard.name

    def stats_path(self, shard: ShardPlan) -> Path:
        return self.shard_stats / f"{shard.name}.json"

    def completed_stats(self, shard: ShardPlan) -> dict[str, Any] | None:
        """The counts of a complete shard, or None when it must be (re)written."""
        if not (self.shard_path(shard).exists() and self.stats_path(shard).exists()):
            return None
        try:
            return json.loads(self.stats_path(shard).read_text())
        except ValueError:
            return None

    def write_shard(
        self, shard: ShardPlan, write: Callable[[Path], dict[str, Any]]
    ) -> dict[str, Any]:
        """``write(tmp_path)`` fills the shard and returns its counts; the shard is then
        sealed (counts, fsync, rename) on a thread of its own while the caller writes
        the next one: the disk flushes one shard while the CPU builds the next. The
        rename still comes after the fsync, so a shard under its final name is whole
        even after a crash of the machine; ``wait_sealed`` waits for them all."""
        final = self.shard_path(shard)
        tmp = temp_path(final)
        stats = write(tmp)
        stats["bytes"] = tmp.stat().st_size
        if self._sealer is None:
            self._sealer = ThreadPoolExecutor(1, thread_name_prefix="export-seal")
        self._sealing.append(self._sealer.submit(self._seal, tmp, final, shard, stats))
        return stats

    def _seal(self, tmp: Path, final: Path, shard: ShardPlan, stats: dict[str, Any]) -> None:
        atomic_write(self.stats_path(shard), _dump(stats))
        commit(tmp, final)  # fsync, then the rename

    def wait_sealed(self) -> None:
        """Wait until every written shard is sealed; re-raises a sealing error."""
        sealing, self._sealing = self._sealing, []
        for future in sealing:
            future.result()
        if self._sealer is not None:
            self._sealer.shutdown()
            self._sealer = None

    def write_report(self, report: dict[str, Any]) -> None:
        atomic_write(self.report_path, _dump(report))


def _differences(previous: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Human-readable differences of two options.json documents, options first."""
    found = []
    old_options, new_options = previous.get("options", {}), current.get("options", {})
    for key in sorted(set(old_options) | set(new_options)):
        if old_options.get(key) != new_options.get(key):
            found.append(f"{key} was {old_options.get(key)!r}, now {new_options.get(key)!r}")
    if previous.get("run", {}).get("run_id") != current.get("run", {}).get("run_id"):
        found.append(f"it was made from run {previous.get('run', {}).get('run_id')!r}, "
                     f"not {current['run']['run_id']!r}")
    elif previous.get("selection") != current.get("selection"):
        old, new = previous.get("selection", {}), current.get("selection", {})
        found.append(
            f"the run's selected rows changed since it was written ({old.get('rows')} rows, "
            f"digest {str(old.get('digest'))[:12]} then; {new.get('rows')} rows, digest "
            f"{str(new.get('digest'))[:12]} now)"
        )
    return found
