"""The resume contract without Ray: plan, completeness, atomic writes, integrity."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curation.base import ShardSpec
from curation.folder import FolderSource, FolderSourceConfig
from paraimage.manifest import SCHEMA_VERSION
from paraimage.rundir import RunDir, RunDirError
from paraimage.shard_writer import ShardCollector, ShardIntegrityError


def shard(shard_id: str, n: int) -> ShardSpec:
    return ShardSpec(shard_id=shard_id, source="folder", uri="/x", n_records=n)


def row(shard_id: str, key: str, status: str = "kept") -> dict:
    return {
        "id": f"{shard_id}-{key}", "source": "folder", "source_key": key,
        "shard_id": shard_id, "run_id": "r", "schema_version": SCHEMA_VERSION,
        "status": status, "_image_bytes": b"dropped before writing",
    }


def test_collector_writes_each_shard_once_complete_sorted(tmp_path: Path) -> None:
    written = []
    collector = ShardCollector(
        [shard("s1", 2), shard("s2", 1)],
        lambda shard_id: tmp_path / f"{shard_id}.parquet",
        on_written=lambda spec, rows: written.append(spec.shard_id),
    )
    collector.add(row("s1", "b"))
    assert not (tmp_path / "s1.parquet").exists()  # half a shard is never written
    collector.add(row("s2", "a", status="error"))
    collector.add(row("s1", "a"))
    collector.check_complete()
    assert written == ["s2", "s1"]
    table = pq.read_table(tmp_path / "s1.parquet")
    assert table.column("source_key").to_pylist() == ["a", "b"]
    assert "_image_bytes" not in table.column_names
    assert dict(collector.status_counts) == {"kept": 2, "error": 1}
    assert list(tmp_path.glob("*.tmp")) == []


def test_collector_keeps_one_copy_of_redelivered_rows_and_refuses_strays(
    tmp_path: Path,
) -> None:
    collector = ShardCollector([shard("s1", 2), shard("s2", 1)],
                               lambda s: tmp_path / f"{s}.parquet")
    collector.add(row("s1", "a"))
    collector.add(row("s1", "a"))  # a retried read task yields it again
    collector.add(row("s2", "x"))
    collector.add(row("s2", "x"))  # ... after its shard was written
    collector.add(row("s1", "b"))
    collector.check_complete()
    assert collector.redelivered == 2
    assert pq.read_table(tmp_path / "s1.parquet").column("source_key").to_pylist() == ["a", "b"]
    with pytest.raises(ShardIntegrityError, match="unplanned shard 'zz'"):
        collector.add(row("zz", "a"))


def test_a_source_yielding_an_id_twice_leaves_its_shard_incomplete(tmp_path: Path) -> None:
    collector = ShardCollector([shard("s1", 2)], lambda s: tmp_path / f"{s}.parquet")
    collector.add(row("s1", "a"))
    collector.add(row("s1", "a"))
    with pytest.raises(ShardIntegrityError, match=r"\{'s1': '1/2 rows'\}"):
        collector.check_complete()
    assert not (tmp_path / "s1.parquet").exists()


def test_collector_reports_gaps(tmp_path: Path) -> None:
    collector = ShardCollector([shard("s1", 3)], lambda s: tmp_path / f"{s}.parquet")
    collector.add(row("s1", "a"))
    with pytest.raises(ShardIntegrityError, match=r"\{'s1': '1/3 rows'\}"):
        collector.check_complete()


def test_empty_shard_is_written_empty(tmp_path: Path) -> None:
    collector = ShardCollector([shard("s0", 0)], lambda s: tmp_path / f"{s}.parquet")
    collector.flush_empty()
    collector.check_complete()
    assert pq.read_table(tmp_path / "s0.parquet").num_rows == 0


def test_run_dir_plan_is_fixed_at_first_invocation(
    tmp_path: Path, astronaut_jpeg: bytes
) -> None:
    images = tmp_path / "images"
    images.mkdir()
    (images / "a.jpg").write_bytes(astronaut_jpeg)
    source = FolderSource(FolderSourceConfig(kind="folder", path=images, shard_size=2))
    run_dir = RunDir(tmp_path / "run")
    run_dir.prepare({"k": 1}, "fp1")
    first = run_dir.load_or_create_plan(source)
    (images / "b.jpg").write_bytes(astronaut_jpeg)  # arrives after the run started
    assert run_dir.load_or_create_plan(source) == first
    assert [s.members for s in first] == [("a.jpg",)]


def test_run_dir_completeness_and_leftovers(tmp_path: Path) -> None:
    run_dir = RunDir(tmp_path / "run")
    run_dir.prepare({}, "fp")
    s1, s2 = shard("s1", 1), shard("s2", 2)
    collector = ShardCollector([s1], run_dir.manifest_path)
    collector.add(row("s1", "a"))
    # a manifest with the wrong row count (e.g. the plan changed) is not complete
    ShardCollector([shard("s2", 1)], run_dir.manifest_path).add(row("s2", "a"))
    (run_dir.manifests / "s3.parquet.tmp").write_bytes(b"partial")
    assert run_dir.pending([s1, s2]) == [s2]
    run_dir.prepare({}, "fp")
    assert not (run_dir.manifests / "s3.parquet.tmp").exists()


def test_run_dir_refuses_another_config(tmp_path: Path) -> None:
    run_dir = RunDir(tmp_path / "run")
    run_dir.prepare({"a": 1}, "fp-one")
    with pytest.raises(RunDirError, match="holds a run of a different configuration") as err:
        RunDir(tmp_path / "run").prepare({"a": 2}, "fp-two")
    assert f"or delete {tmp_path / 'run'} to start it over" in str(err.value)


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        ("plan.json", '{"shards": [',
         "JSONDecodeError: Expecting value: line 1 column 13 (char 12)"),
        ("plan.json", '{"plans": []}', "KeyError: 'shards'"),
        ("config.yaml", "fingerprint: [fp", "ParserError: while parsing a flow sequence"),
        ("run.json", "", "JSONDecodeError: Expecting value: line 1 column 1 (char 0)"),
    ],
)
def test_a_damaged_run_file_is_named_not_a_traceback(
    tmp_path: Path, name: str, text: str, problem: str
) -> None:
    run_dir = RunDir(tmp_path / "run")
    run_dir.prepare({}, "fp")
    (run_dir.root / name).write_text(text)
    with pytest.raises(RunDirError) as error:
        run_dir.check_config("fp")
        run_dir.load_plan()
        run_dir.read_record()
    assert str(error.value).startswith(f"{run_dir.root / name} is damaged ({problem}")
    assert str(error.value).endswith(f"); restore it, or delete {run_dir.root} to start "
                                     "the run over")
