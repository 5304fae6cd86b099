"""Atomic file writes: a reader sees the old file or the new one, never half of one.

One durability policy for every writer: the bytes go to ``<name>.tmp`` beside the
target, are fsynced, renamed over the target, and the folder is fsynced so that the
rename itself survives a crash of the machine. A writer killed part-way leaves only
``<name>.tmp``, which the next write of the same file overwrites; code that lists a
folder skips names ending in ``TMP_SUFFIX``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TMP_SUFFIX = ".tmp"


def temp_path(path: Path) -> Path:
    """Where ``path``'s next version is written before it is committed."""
    return path.with_name(f"{path.name}{TMP_SUFFIX}")


def commit(tmp: Path, path: Path) -> None:
    """Make the finished ``tmp`` durable and put it in ``path``'s place."""
    with open(tmp, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield the temporary path to write ``path``'s content to (with any writer that
    takes a path: Parquet, PIL, ...); on a clean exit it is committed, on an error it
    is removed and ``path`` keeps its old content."""
    path = Path(path)
    tmp = temp_path(path)
    try:
        yield tmp
        commit(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        if isinstance(data, str):
            tmp.write_text(data, encoding="utf-8")
        else:
            tmp.write_bytes(data)
