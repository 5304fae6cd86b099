"""Synthetic run directories: a plan, manifests written by the job's own writer (with
chosen file times), temp files of shards being written, and a run record."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from curation.base import ShardSpec
from paraimage.manifest import SCHEMA_VERSION, record_id
from paraimage.rundir import TMP_SUFFIX, RunDir
from paraimage.shard_writer import write_manifest

T0 = 1_780_000_000.0  # 2026-05-28T20:26:40+00:00


def iso(timestamp: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


def row(source: str, key: str, shard_id: str, status: str = "kept",
        **columns: Any) -> dict[str, Any]:
    out = {
        "id": record_id(source, key), "source": source, "source_key": key,
        "shard_id": shard_id, "run_id": "run-test", "schema_version": SCHEMA_VERSION,
        "status": status,
    }
    out.update(columns)
    return out


def build_run(
    root: Path,
    written: dict[str, tuple[list[dict[str, Any]], float]],
    planned: dict[str, int] | None = None,
    being_written: tuple[str, ...] = (),
    invocations: list[dict[str, Any]] | None = None,
    run_id: str = "run-test",
) -> RunDir:
    """``written``: shard id -> (rows, mtime of its manifest); ``planned``: more shards
    (id -> planned rows) without a manifest; ``being_written``: those of them that have
    a temp file."""
    run_dir = RunDir(root)
    run_dir.manifests.mkdir(parents=True, exist_ok=True)
    shards = [ShardSpec(sid, rows[0]["source"] if rows else "s", f"uri-{sid}", len(rows))
              for sid, (rows, _) in written.items()]
    shards += [ShardSpec(sid, "s", f"uri-{sid}", n) for sid, n in (planned or {}).items()]
    run_dir.save_plan(sorted(shards, key=lambda s: s.shard_id))
    for sid, (rows, mtime) in written.items():
        path = run_dir.manifest_path(sid)
        write_manifest(path, rows)
        os.utime(path, (mtime, mtime))
    for sid in being_written:
        path = run_dir.manifest_path(sid)
        path.with_name(f"{path.name}{TMP_SUFFIX}").write_bytes(b"PAR1 partial")
    run_dir.write_record({"run_id": run_id, "invocations": invocations or []})
    return run_dir
