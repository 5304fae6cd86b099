from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from paraimage.atomic import atomic_path, atomic_write, temp_path


def test_text_and_bytes_replace_the_file_and_leave_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    atomic_write(path, "é\n")
    assert path.read_bytes() == "é\n".encode()
    atomic_write(path, b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.json"]


def test_a_failed_write_keeps_the_old_content(tmp_path: Path) -> None:
    path = tmp_path / "table.parquet"
    atomic_write(path, b"old")
    with pytest.raises(RuntimeError, match="killed"), atomic_path(path) as tmp:
        pq.write_table(pa.table({"a": [1]}), tmp)
        raise RuntimeError("killed half-way")
    assert path.read_bytes() == b"old"
    assert not temp_path(path).exists()


def test_a_killed_writers_leftover_is_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "shard.parquet"
    temp_path(path).write_bytes(b"half a file from a killed run")
    with atomic_path(path) as tmp:
        pq.write_table(pa.table({"a": [1, 2]}), tmp)
    assert pq.read_table(path).column("a").to_pylist() == [1, 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shard.parquet"]


def test_the_file_and_its_folder_are_synced_before_and_after_the_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("fsync dir" if os.path.isdir(f"/proc/self/fd/{fd}") else "fsync file")
        real_fsync(fd)

    def replace(src: str | Path, dst: str | Path) -> None:
        events.append("rename")
        real_replace(src, dst)

    monkeypatch.setattr("paraimage.atomic.os.fsync", fsync)
    monkeypatch.setattr("paraimage.atomic.os.replace", replace)
    atomic_write(tmp_path / "a.txt", "x")
    assert events == ["fsync file", "rename", "fsync dir"]
