"""The webdataset source keeps the row contract when its tar is odd or changed after
planning: exactly the planned rows, one id each (the cases test_sa1b.py checks too)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pyarrow.parquet as pq

from curation.webdataset import WebDatasetSource, WebDatasetSourceConfig
from paraimage.shard_writer import ShardCollector


def write_tar(path: Path, members: list[tuple[str, bytes]]) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def source_of(tar: Path) -> WebDatasetSource:
    return WebDatasetSource(WebDatasetSourceConfig(kind="webdataset", paths=[str(tar)]))


def summary(rows: list[dict]) -> list[tuple[str, str, str | None]]:
    return [(row["source_key"], row["status"], row["error"]) for row in rows]


def test_members_split_apart_get_rows_of_their_own(
    tmp_path: Path, astronaut_jpeg: bytes
) -> None:
    tar = write_tar(tmp_path / "split.tar", [
        ("a.jpg", astronaut_jpeg), ("b.jpg", astronaut_jpeg), ("a.json", b'{"caption": "x"}'),
    ])
    source = source_of(tar)
    (shard,) = source.plan()
    assert shard.n_records == 3
    rows = list(source.read(shard, "r"))
    assert summary(rows) == [
        ("split.tar/a", "kept", None),
        ("split.tar/b", "kept", None),
        ("split.tar/a#2", "error",
         "webdataset_split_sample: members of a are not adjacent in the tar"),
    ]
    assert len({row["id"] for row in rows}) == 3
    # the shard completes: before, the repeated id was dropped as a re-delivery and
    # the run died at its end with ShardIntegrityError
    collector = ShardCollector([shard], lambda shard_id: tmp_path / f"{shard_id}.parquet")
    for row in rows:
        collector.add(row)
    collector.check_complete()
    assert collector.written == [shard.shard_id]
    assert pq.read_table(tmp_path / f"{shard.shard_id}.parquet").num_rows == 3


def test_tar_grown_after_planning_yields_the_planned_rows(
    tmp_path: Path, astronaut_jpeg: bytes
) -> None:
    tar = write_tar(tmp_path / "grow.tar", [("a.jpg", astronaut_jpeg)])
    source = source_of(tar)
    (shard,) = source.plan()
    write_tar(tar, [("a.jpg", astronaut_jpeg), ("b.jpg", astronaut_jpeg)])
    assert summary(list(source.read(shard, "r"))) == [("grow.tar/a", "kept", None)]


def test_tar_shrunk_after_planning_still_yields_every_row(
    tmp_path: Path, astronaut_jpeg: bytes
) -> None:
    tar = write_tar(tmp_path / "shrink.tar", [("a.jpg", astronaut_jpeg), ("b.jpg", astronaut_jpeg)])
    source = source_of(tar)
    (shard,) = source.plan()
    write_tar(tar, [("a.jpg", astronaut_jpeg)])
    assert summary(list(source.read(shard, "r"))) == [
        ("shrink.tar/a", "kept", None),
        ("shrink.tar/#unread-1", "error",
         "webdataset_unreadable_tar: tar has fewer samples than planned"),
    ]
    tar.unlink()
    rows = list(source.read(shard, "r"))
    assert [row["source_key"] for row in rows] == ["shrink.tar/#unread-0", "shrink.tar/#unread-1"]
    assert rows[0]["error"] == (
        f"webdataset_unreadable_tar: [Errno 2] No such file or directory: '{tar}'"
    )
