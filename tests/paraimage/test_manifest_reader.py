"""The one manifest reader: a run's rows with its decision tables applied, exactly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from paraimage.manifest import SCHEMA_VERSION, record_id, to_table
from paraimage.manifest_reader import (
    DecisionTableError,
    decision_files,
    decision_path,
    read_sql,
    run_sql,
    write_decisions,
)


def row(shard_id: str, key: str, **columns: Any) -> dict[str, Any]:
    out = {"id": record_id("test", key), "source": "test", "source_key": key,
           "shard_id": shard_id, "run_id": "r", "schema_version": SCHEMA_VERSION,
           "status": "kept"}
    out.update(columns)
    return out


def make_run(run_dir: Path) -> Path:
    manifests = run_dir / "manifests"
    manifests.mkdir(parents=True)
    pq.write_table(to_table([row("a", "1"), row("a", "2")]), manifests / "a.parquet")
    pq.write_table(to_table([
        row("b", "3", status="rejected", reject_reason="resolution_short_edge"),
        row("b", "4", status="error", error="decode_corrupt: truncated"),
    ]), manifests / "b.parquet")
    return run_dir


def rows(run_dir: Path, **options: Any) -> list[tuple]:
    con = duckdb.connect()
    return con.execute(
        f"SELECT source_key, status, reject_reason, duplicate_of "
        f"FROM ({run_sql(con, run_dir, **options)}) ORDER BY source_key").fetchall()


def decisions(*entries: tuple[str, str, str | None, str | None]) -> pa.Table:
    return pa.table({
        "id": [record_id("test", key) for key, _, _, _ in entries],
        "status": [status for _, status, _, _ in entries],
        "reject_reason": [reason for _, _, reason, _ in entries],
        "duplicate_of": [record_id("test", twin) if twin else None
                         for _, _, _, twin in entries],
    })


AS_WRITTEN = [
    ("1", "kept", None, None),
    ("2", "kept", None, None),
    ("3", "rejected", "resolution_short_edge", None),
    ("4", "error", None, None),
]


def test_without_decisions_the_rows_are_the_manifests(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    assert decision_files(run) == []
    assert rows(run) == AS_WRITTEN


def test_a_decision_gives_the_effective_verdict(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    written = {p: p.read_bytes() for p in (run / "manifests").glob("*.parquet")}
    path = write_decisions(run, "dedup", decisions(("2", "rejected", "dedup_exact", "1"),
                                                   ("gone", "rejected", "dedup_near", "1")))
    assert path == run / "decisions" / "dedup.parquet" == decision_path(run, "dedup")
    assert rows(run) == [
        ("1", "kept", None, None),
        ("2", "rejected", "dedup_exact", record_id("test", "1")),
        ("3", "rejected", "resolution_short_edge", None),
        ("4", "error", None, None),
    ]  # the id no manifest holds adds no row
    assert rows(run, without=("dedup",)) == AS_WRITTEN
    assert {p: p.read_bytes() for p in (run / "manifests").glob("*.parquet")} == written


def test_steps_apply_in_name_order_the_later_over_the_earlier(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    write_decisions(run, "a_first", decisions(("1", "rejected", "first_x", None),
                                              ("2", "rejected", "first_y", None)))
    write_decisions(run, "b_second", pa.table({
        "id": [record_id("test", "2")], "status": ["kept"], "reject_reason": [None]}))
    assert [p.name for p in decision_files(run)] == ["a_first.parquet", "b_second.parquet"]
    assert rows(run)[:2] == [("1", "rejected", "first_x", None), ("2", "kept", None, None)]


def test_a_subset_of_manifests_and_the_filename(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    write_decisions(run, "dedup", decisions(("2", "rejected", "dedup_exact", "1")))
    con = duckdb.connect()
    a = run / "manifests" / "a.parquet"
    sql = run_sql(con, run, manifests=[a], filename=True)
    assert con.execute(f"SELECT source_key, status, filename FROM ({sql}) ORDER BY 1"
                       ).fetchall() == [("1", "kept", str(a)), ("2", "rejected", str(a))]


def test_manifests_of_two_schema_versions_read_by_name(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    # an older manifest: fewer columns, another order (no duplicate_of, no caption)
    pq.write_table(pa.table({"status": ["kept"], "id": [record_id("test", "5")],
                             "source_key": ["5"]}), run / "manifests" / "c.parquet")
    write_decisions(run, "dedup", decisions(("5", "rejected", "dedup_near", "1")))
    assert rows(run)[-1] == ("5", "rejected", "dedup_near", record_id("test", "1"))


def test_a_decision_column_no_manifest_has_reads_as_null_elsewhere(tmp_path: Path) -> None:
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    pq.write_table(pa.table({"id": ["x", "y"], "status": ["kept", "kept"],
                             "reject_reason": pa.array([None, None], pa.string())}),
                   manifests / "a.parquet")
    write_decisions(tmp_path, "dedup", pa.table({
        "id": ["y"], "status": ["rejected"], "reject_reason": ["dedup_exact"],
        "duplicate_of": ["x"]}))
    con = duckdb.connect()
    assert con.execute(f"SELECT id, status, duplicate_of FROM ({read_sql(con, str(manifests / '*.parquet'), decision_files(tmp_path))}) ORDER BY id").fetchall() == [  # noqa: E501
        ("x", "kept", None), ("y", "rejected", "x")]


@pytest.mark.parametrize(("table", "message"), [
    (pa.table({"id": ["x", "x"], "status": ["kept", "kept"],
               "reject_reason": pa.array([None, None], pa.string())}),
     "decisions of 'dedup' hold an id twice"),
    (pa.table({"id": ["x"], "status": ["dropped"], "reject_reason": ["r"]}),
     "decisions of 'dedup' hold status ['dropped']"),
    (pa.table({"id": ["x"], "status": ["kept"]}),
     "decisions of 'dedup' lack reject_reason"),
    (pa.table({"id": ["x"], "status": ["kept"], "reject_reason": ["r"], "verdict": ["v"]}),
     "decision column 'verdict' is not a manifest column"),
])
def test_a_table_that_would_break_the_contract_is_refused(
    tmp_path: Path, table: pa.Table, message: str
) -> None:
    with pytest.raises(DecisionTableError) as error:
        write_decisions(tmp_path, "dedup", table)
    assert str(error.value) == message
    assert not (tmp_path / "decisions" / "dedup.parquet").exists()
