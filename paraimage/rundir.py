"""The run directory: manifests, the shard plan, the config snapshot and the run record.

Layout (docs/manifest.md)::

    RUN_DIR/config.yaml            the validated config of the first invocation
    RUN_DIR/plan.json              the shards, fixed at the first invocation
    RUN_DIR/manifests/<shard>.parquet   one per input shard, written atomically
    RUN_DIR/run.json               run record: versions, commit, invocations, counts

A manifest exists under its final name only once complete (temp file + rename), so
"complete" is "present with the planned row count"; a killed run leaves at most a
temp file, which the next invocation deletes.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import yaml

from curation.base import BaseSource, ShardSpec

TMP_SUFFIX = ".tmp"


class RunDirError(RuntimeError):
    """The run directory belongs to another configuration or is damaged."""


def check_writable(directory: Path) -> None:
    """Fail before any work when the run directory cannot be made or written.

    Writes (and removes) a probe file in the deepest part of ``directory/manifests``
    that exists: asking ``os.access`` would say yes to root on a read-only mount."""
    existing = directory / "manifests"
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise RunDirError(
            f"run.output_dir: cannot create the run directory {directory}: "
            f"{existing} is not a directory"
        )
    try:
        handle, probe = tempfile.mkstemp(prefix=".paraimage-write-test-", dir=existing)
    except OSError as exc:
        raise RunDirError(
            f"run.output_dir: cannot write the run directory {directory}: "
            f"{exc.strerror} ({existing})"
        ) from exc
    os.close(handle)
    os.unlink(probe)


def atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f"{path.name}{TMP_SUFFIX}")
    tmp.write_text(text)
    os.replace(tmp, path)


class RunDir:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.manifests = root / "manifests"
        self.plan_path = root / "plan.json"
        self.config_path = root / "config.yaml"
        self.record_path = root / "run.json"

    @contextlib.contextmanager
    def _damaged(self, path: Path) -> Iterator[None]:
        """A run file that does not parse is a RunDirError naming it, not a traceback."""
        try:
            yield
        except (ValueError, yaml.YAMLError, KeyError, TypeError, AttributeError) as exc:
            raise RunDirError(
                f"{path} is damaged ({type(exc).__name__}: {exc}); restore it, or delete "
                f"{self.root} to start the run over"
            ) from exc

    def check_config(self, fingerprint: str) -> None:
        """Refuse a run directory that holds a run of another config; writes nothing."""
        if not self.config_path.exists():
            return
        with self._damaged(self.config_path):
            previous = yaml.safe_load(self.config_path.read_text()) or {}
            recorded = previous.get("fingerprint")
        if recorded != fingerprint:
            raise RunDirError(
                f"{self.root} holds a run of a different configuration "
                f"(fingerprint {recorded} != {fingerprint}); "
                f"use another run.name or run.output_dir, or delete {self.root} to "
                "start it over"
            )

    def prepare(self, config_snapshot: dict[str, Any], fingerprint: str) -> None:
        """Create the directory, or check that it holds a run of the same config."""
        self.check_config(fingerprint)
        self.manifests.mkdir(parents=True, exist_ok=True)
        if not self.config_path.exists():
            document = {"fingerprint": fingerprint, "config": config_snapshot}
            atomic_write_text(self.config_path, yaml.safe_dump(document, sort_keys=False))
        for leftover in self.manifests.glob(f"*{TMP_SUFFIX}"):
            leftover.unlink()  # a killed writer's partial file; its shard is redone

    def load_plan(self) -> list[ShardSpec] | None:
        """The plan fixed at the first invocation, or None before there is one."""
        if not self.plan_path.exists():
            return None
        with self._damaged(self.plan_path):
            data = json.loads(self.plan_path.read_text())
            return [ShardSpec.from_dict(item) for item in data["shards"]]

    @staticmethod
    def make_plan(source: BaseSource) -> list[ShardSpec]:
        """``source``'s shards, checked; nothing is written (``save_plan`` does)."""
        shards = source.plan()
        ids = [shard.shard_id for shard in shards]
        if len(set(ids)) != len(ids):
            raise RunDirError("source produced duplicate shard ids")
        return shards

    def save_plan(self, shards: Sequence[ShardSpec]) -> None:
        payload = {"shards": [shard.to_dict() for shard in shards]}
        atomic_write_text(self.plan_path, json.dumps(payload, indent=1))

    def load_or_create_plan(self, source: BaseSource) -> list[ShardSpec]:
        shards = self.load_plan()
        if shards is None:
            shards = self.make_plan(source)
            self.save_plan(shards)
        return shards

    def manifest_path(self, shard_id: str) -> Path:
        return self.manifests / f"{shard_id}.parquet"

    def is_complete(self, shard: ShardSpec) -> bool:
        path = self.manifest_path(shard.shard_id)
        if not path.exists():
            return False
        return pq.ParquetFile(path).metadata.num_rows == shard.n_records

    def pending(self, shards: Sequence[ShardSpec]) -> list[ShardSpec]:
        return [shard for shard in shards if not self.is_complete(shard)]

    def manifest_files(self) -> list[Path]:
        return sorted(self.manifests.glob("*.parquet"))

    def read_record(self) -> dict[str, Any]:
        if self.record_path.exists():
            with self._damaged(self.record_path):
                return json.loads(self.record_path.read_text())
        return {}

    def write_record(self, record: dict[str, Any]) -> None:
        atomic_write_text(self.record_path, json.dumps(record, indent=1, default=str))
