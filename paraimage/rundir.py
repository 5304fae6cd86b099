"""The run directory: manifests, the shard plan, the config snapshot and the run record.

Layout (docs/manifest.md)::

    RUN_DIR/config.yaml            the validated config of the first invocation
    RUN_DIR/plan.json              the shards, fixed at the first invocation
    RUN_DIR/manifests/<shard>.parquet   one per input shard, written atomically, once
    RUN_DIR/decisions/<step>.parquet    run-level verdicts (dedup), joined by the reader
    RUN_DIR/run.json               run record: versions, commit, invocations, counts
    RUN_DIR/run.lock               held (flock) by the one invocation working on the run
    RUN_DIR/spill/                 rows of unfinished shards the driver set aside

A manifest exists under its final name only once complete (temp file + rename), so
"complete" is "present with the planned row count"; a killed run leaves at most a
temp file, which the next invocation deletes.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import yaml
from filelock import FileLock, Timeout

from paraimage.atomic import TMP_SUFFIX, atomic_write
from paraimage.errors import UserError
from paraimage.source import BaseSource, ShardSpec

LOCK_FILES = ("run.lock", "run.lock.json")  # the lock and its holder's description
# run directories this process holds (RunDir.locked is re-entrant within a process)
_HELD: set[Path] = set()


class RunDirError(UserError, RuntimeError):
    """The run directory belongs to another configuration or is damaged."""


class RunDirBusyError(RunDirError):
    """Another invocation (alive) works on this run directory."""


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


def submitted_job_id() -> str | None:
    """The ``ray job submit`` id of this process's job (Ray gives a job's driver its
    metadata in RAY_JOB_CONFIG_JSON_ENV_VAR), or None for a driver started by hand."""
    try:
        config = json.loads(os.environ.get("RAY_JOB_CONFIG_JSON_ENV_VAR") or "{}")
        return (config.get("metadata") or {}).get("job_submission_id")
    except (ValueError, AttributeError):
        return None


class RunDir:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.manifests = root / "manifests"
        self.plan_path = root / "plan.json"
        self.config_path = root / "config.yaml"
        self.record_path = root / "run.json"
        self.lock_path, self.holder_path = (root / name for name in LOCK_FILES)
        self.spill = root / "spill"

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the run directory for one invocation; a second is refused at once.

        An OS file lock (flock) is released by the kernel when its holder dies, however
        it dies (SIGKILL, a lost node, `ray job stop`), so a dead holder never blocks a
        rerun; on NFS it needs NFSv4 or lockd, as any shared-file lock does."""
        key = self.root.resolve()
        if key in _HELD:  # the job took it early (before loading models); run_job again
            yield
            return
        created = not self.root.exists()
        # the outermost folder this makes (output_dir too, when it is new): what goes
        # again if the invocation stops before any work
        outermost = self.root
        while not outermost.parent.exists():
            outermost = outermost.parent
        self.root.mkdir(parents=True, exist_ok=True)
        lock = FileLock(self.lock_path, timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise RunDirBusyError(
                f"{self.root} is in use by another run ({self._holder()}); wait for it "
                "to end, or stop it (`ray job stop ID`, or kill the process), then run "
                "the same command again to resume"
            ) from None
        try:
            holder = {"pid": os.getpid(), "host": socket.gethostname(),
                      "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                      "ray_job": submitted_job_id()}
            atomic_write(self.holder_path, json.dumps(holder))
            _HELD.add(key)
            yield
        finally:
            _HELD.discard(key)
            self.holder_path.unlink(missing_ok=True)
            lock.release()
            if created and [p.name for p in self.root.iterdir()] == [self.lock_path.name]:
                # an invocation that stopped before any work (planning failed) leaves
                # no half-made run directory behind
                self.lock_path.unlink(missing_ok=True)
                folder = self.root
                with contextlib.suppress(OSError):  # a folder that is not empty stays
                    while True:
                        folder.rmdir()
                        if folder == outermost:
                            break
                        folder = folder.parent

    def _holder(self) -> str:
        try:
            holder = json.loads(self.holder_path.read_text())
        except (OSError, ValueError):
            return "its holder did not say who it is"
        job = f", job {holder['ray_job']}" if holder.get("ray_job") else ""
        return f"pid {holder.get('pid')} on {holder.get('host')}{job}, since {holder.get('since')}"

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
            atomic_write(self.config_path, yaml.safe_dump(document, sort_keys=False))
        for leftover in self.manifests.glob(f"*{TMP_SUFFIX}"):
            leftover.unlink()  # a killed writer's partial file; its shard is redone
        # rows a killed invocation set aside for shards it never finished: redone too
        for leftover in self.spill.glob("*.arrow") if self.spill.is_dir() else ():
            leftover.unlink()

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
        atomic_write(self.plan_path, json.dumps(payload, indent=1))

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
        atomic_write(self.record_path, json.dumps(record, indent=1, default=str))
