"""apply_dedup: mode on rejects duplicates once, by a decision table and never by
rewriting a manifest, and a rerun changes nothing; mode score_only writes the finding
and rejects nothing."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.parquet as pq
from filter_helpers import manifest_row

from filters.dedup_apply import DedupOutcome, apply_dedup
from paraimage.manifest import to_table
from paraimage.manifest_reader import run_sql


def write_shard(run_dir: Path, shard_id: str, rows: list[dict]) -> Path:
    path = run_dir / "manifests" / f"{shard_id}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(to_table(rows), path)
    return path


def make_run(run_dir: Path) -> dict[str, Path]:
    return {
        "a": write_shard(run_dir, "a", [
            manifest_row("a", "a/1", sha256="s-astro"),
            manifest_row("a", "a/2", sha256="s-coffee"),
        ]),
        "b": write_shard(run_dir, "b", [
            manifest_row("b", "b/1", sha256="s-astro"),  # exact duplicate of a/1
            manifest_row("b", "b/2", sha256="s-rocket", status="rejected",
                         reject_reason="resolution_short_edge"),
        ]),
    }


def verdicts(run_dir: Path) -> list[tuple[str, str, str | None, str | None]]:
    """The effective verdicts, as every reader of the run sees them."""
    con = duckdb.connect()
    return con.execute(
        f"SELECT source_key, status, reject_reason, duplicate_of FROM ({run_sql(con, run_dir)}) "
        "ORDER BY source_key").fetchall()


def decision(run_dir: Path) -> list[tuple[str, str, str]]:
    table = pq.read_table(run_dir / "dedup" / "duplicates.parquet")
    return [(r["id"], r["duplicate_of"], r["dedup_kind"]) for r in table.to_pylist()]


def decided(run_dir: Path) -> list[dict]:
    return pq.read_table(run_dir / "decisions" / "dedup.parquet").to_pylist()


def contents(paths: dict[str, Path]) -> dict[str, tuple[bytes, int]]:
    return {name: (path.read_bytes(), path.stat().st_mtime_ns) for name, path in paths.items()}


def test_duplicates_are_rejected_and_a_rerun_changes_nothing(tmp_path: Path) -> None:
    paths = make_run(tmp_path)
    astro, copy = manifest_row("a", "a/1")["id"], manifest_row("b", "b/1")["id"]
    expected = [
        ("a/1", "kept", None, None),
        ("a/2", "kept", None, None),
        ("b/1", "rejected", "dedup_exact", astro),
        ("b/2", "rejected", "resolution_short_edge", None),
    ]
    before = contents(paths)
    first = apply_dedup(tmp_path, max_hamming=6)
    assert first == DedupOutcome(duplicates=1, newly_rejected=1, rejects=True)
    assert first.describe() == "dedup: 1 duplicates rejected (1 new)"
    assert verdicts(tmp_path) == expected
    assert decision(tmp_path) == [(copy, astro, "exact")]
    assert decided(tmp_path) == [{"id": copy, "status": "rejected",
                                  "reject_reason": "dedup_exact", "duplicate_of": astro}]
    # the manifests are written once: byte for byte and by mtime as the shards left them
    assert contents(paths) == before

    table = (tmp_path / "decisions" / "dedup.parquet").read_bytes()
    again = apply_dedup(tmp_path, max_hamming=6)
    # the duplicate is already rejected, yet it is still the run's duplicate: the
    # table keeps it (a rerun used to overwrite it with 0 rows, "0 duplicates marked")
    assert again == DedupOutcome(duplicates=1, newly_rejected=0, rejects=True)
    assert again.describe() == "dedup: 1 duplicates rejected (0 new)"
    assert decision(tmp_path) == [(copy, astro, "exact")]
    assert (tmp_path / "decisions" / "dedup.parquet").read_bytes() == table
    assert verdicts(tmp_path) == expected
    assert contents(paths) == before


def test_score_only_writes_the_decision_and_rejects_nothing(tmp_path: Path) -> None:
    paths = make_run(tmp_path)
    before = {name: path.read_bytes() for name, path in paths.items()}
    outcome = apply_dedup(tmp_path, max_hamming=6, reject=False)
    assert outcome == DedupOutcome(duplicates=1, newly_rejected=0, rejects=False)
    assert outcome.describe() == (
        "dedup (score_only): 1 duplicates found, none rejected (dedup/duplicates.parquet)"
    )
    assert {name: path.read_bytes() for name, path in paths.items()} == before
    assert decision(tmp_path) == [
        (manifest_row("b", "b/1")["id"], manifest_row("a", "a/1")["id"], "exact"),
    ]
    assert decided(tmp_path) == []  # no rejecting decision
    assert verdicts(tmp_path) == [
        ("a/1", "kept", None, None),
        ("a/2", "kept", None, None),
        ("b/1", "kept", None, None),
        ("b/2", "rejected", "resolution_short_edge", None),
    ]


def test_a_mark_that_no_longer_holds_is_lifted(tmp_path: Path) -> None:
    # An old-style run: b/1 was marked a duplicate of a/1 inside its manifest (the
    # previous version rewrote manifests); a/1's shard was redone since, with other
    # bytes: the decision lifts the mark, and the manifest stays as it is
    paths = {
        "a": write_shard(tmp_path, "a", [manifest_row("a", "a/1", sha256="s-astro-new")]),
        "b": write_shard(tmp_path, "b", [
            manifest_row("b", "b/1", sha256="s-astro", status="rejected",
                         reject_reason="dedup_exact",
                         duplicate_of=manifest_row("a", "a/1")["id"]),
        ]),
    }
    before = contents(paths)
    outcome = apply_dedup(tmp_path, max_hamming=6)
    assert outcome == DedupOutcome(duplicates=0, newly_rejected=0, rejects=True)
    assert verdicts(tmp_path) == [("a/1", "kept", None, None), ("b/1", "kept", None, None)]
    assert decision(tmp_path) == []
    assert decided(tmp_path) == [{"id": manifest_row("b", "b/1")["id"], "status": "kept",
                                  "reject_reason": None, "duplicate_of": None}]
    assert contents(paths) == before


def test_an_old_style_run_decided_again_keeps_its_rejects(tmp_path: Path) -> None:
    # Rewritten by the previous version (b/1 marked in its manifest, no decisions):
    # it reads as written, and deciding again agrees with the mark without a rewrite
    astro = manifest_row("a", "a/1")["id"]
    paths = {
        "a": write_shard(tmp_path, "a", [manifest_row("a", "a/1", sha256="s-astro")]),
        "b": write_shard(tmp_path, "b", [
            manifest_row("b", "b/1", sha256="s-astro", status="rejected",
                         reject_reason="dedup_exact", duplicate_of=astro),
        ]),
    }
    expected = [("a/1", "kept", None, None), ("b/1", "rejected", "dedup_exact", astro)]
    assert verdicts(tmp_path) == expected
    before = contents(paths)
    outcome = apply_dedup(tmp_path, max_hamming=6)
    assert outcome == DedupOutcome(duplicates=1, newly_rejected=0, rejects=True)
    assert verdicts(tmp_path) == expected
    assert contents(paths) == before
