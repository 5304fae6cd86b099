"""apply_dedup: mode on rejects duplicates once and a rerun changes nothing; mode
score_only writes the decision and rejects nothing."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
from filter_helpers import manifest_row

from filters.dedup_apply import DedupOutcome, apply_dedup
from paraimage.manifest import to_table


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


def verdicts(paths: dict[str, Path]) -> list[tuple[str, str, str | None, str | None]]:
    return [
        (row["source_key"], row["status"], row["reject_reason"], row["duplicate_of"])
        for path in paths.values() for row in pq.read_table(path).to_pylist()
    ]


def decision(run_dir: Path) -> list[tuple[str, str, str]]:
    table = pq.read_table(run_dir / "dedup" / "duplicates.parquet")
    return [(r["id"], r["duplicate_of"], r["dedup_kind"]) for r in table.to_pylist()]


def test_duplicates_are_rejected_and_a_rerun_changes_nothing(tmp_path: Path) -> None:
    paths = make_run(tmp_path)
    astro, copy = manifest_row("a", "a/1")["id"], manifest_row("b", "b/1")["id"]
    expected = [
        ("a/1", "kept", None, None),
        ("a/2", "kept", None, None),
        ("b/1", "rejected", "dedup_exact", astro),
        ("b/2", "rejected", "resolution_short_edge", None),
    ]
    first = apply_dedup(tmp_path, max_hamming=6)
    assert first == DedupOutcome(duplicates=1, newly_rejected=1, rejects=True)
    assert first.describe() == "dedup: 1 duplicates rejected (1 new)"
    assert verdicts(paths) == expected
    assert decision(tmp_path) == [(copy, astro, "exact")]

    written = {name: path.stat().st_mtime_ns for name, path in paths.items()}
    again = apply_dedup(tmp_path, max_hamming=6)
    # the duplicate is already rejected, yet it is still the run's duplicate: the
    # table keeps it (a rerun used to overwrite it with 0 rows, "0 duplicates marked")
    assert again == DedupOutcome(duplicates=1, newly_rejected=0, rejects=True)
    assert again.describe() == "dedup: 1 duplicates rejected (0 new)"
    assert decision(tmp_path) == [(copy, astro, "exact")]
    assert verdicts(paths) == expected
    assert {name: path.stat().st_mtime_ns for name, path in paths.items()} == written


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


def test_a_mark_that_no_longer_holds_is_lifted(tmp_path: Path) -> None:
    # b/1 was marked a duplicate of a/1; a/1's shard was redone since, with other bytes:
    # the manifests follow the decision, so the mark goes
    paths = {
        "a": write_shard(tmp_path, "a", [manifest_row("a", "a/1", sha256="s-astro-new")]),
        "b": write_shard(tmp_path, "b", [
            manifest_row("b", "b/1", sha256="s-astro", status="rejected",
                         reject_reason="dedup_exact",
                         duplicate_of=manifest_row("a", "a/1")["id"]),
        ]),
    }
    outcome = apply_dedup(tmp_path, max_hamming=6)
    assert outcome == DedupOutcome(duplicates=0, newly_rejected=0, rejects=True)
    assert verdicts(paths) == [("a/1", "kept", None, None), ("b/1", "kept", None, None)]
    assert decision(tmp_path) == []
