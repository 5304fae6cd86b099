from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from filter_helpers import jpeg, manifest_row, photo

from filters.dedup import (
    PerceptualHashFilter,
    _bands,
    compute_phash,
    dedup_run,
    write_dedup,
)
from paraimage.manifest import to_table


def write_shard(run_dir: Path, shard_id: str, rows: list[dict]) -> Path:
    path = run_dir / "manifests" / f"{shard_id}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(to_table(rows), path)
    return path


def pairs(table) -> set[tuple[str, str, str]]:
    return {(r["id"], r["duplicate_of"], r["dedup_kind"]) for r in table.to_pylist()}


def test_phash_of_real_photos() -> None:
    astronaut = compute_phash(photo("astronaut"))
    assert len(astronaut) == 16 and int(astronaut, 16) >= 0
    # Re-encoded and resized copies stay close; a different photo does not.
    recompressed = compute_phash(jpeg(photo("astronaut"), 40))
    resized = compute_phash(photo("astronaut").resize((300, 300)))
    other = compute_phash(photo("coffee"))

    def distance(a: str, b: str) -> int:
        return bin(int(a, 16) ^ int(b, 16)).count("1")

    assert distance(astronaut, recompressed) <= 4
    assert distance(astronaut, resized) <= 4
    assert distance(astronaut, other) > 16


def test_hash_filter_records_phash_and_never_rejects() -> None:
    filt = PerceptualHashFilter()
    row: dict = {}
    assert filt.apply(row, photo("chelsea")) is None
    assert row["phash"] == compute_phash(photo("chelsea"))
    assert PerceptualHashFilter.needs_image is True


@pytest.mark.parametrize("k", [0, 1, 5, 6, 10, 16])
def test_bands_cover_64_bits(k: int) -> None:
    bands = _bands(k)
    assert len(bands) == k + 1
    assert sum(width for _, width in bands) == 64
    assert [shift for shift, _ in bands] == sorted({shift for shift, _ in bands})


def test_exact_and_near_duplicates_across_shards(tmp_path: Path) -> None:
    h = {name: compute_phash(image) for name, image in {
        "astronaut": photo("astronaut"),
        "astronaut_q40": jpeg(photo("astronaut"), 40),
        "coffee": photo("coffee"),
        "rocket": photo("rocket"),
    }.items()}
    # Stable order is (shard_id, source_key): shard "a" comes before shard "b".
    rows_b = [
        manifest_row("b", "k1", sha256="s-astro", phash=h["astronaut"]),  # exact of a/k2
        manifest_row("b", "k2", sha256="s-q40", phash=h["astronaut_q40"]),  # near of a/k2
        manifest_row("b", "k3", sha256="s-rocket", phash=h["rocket"]),
        manifest_row("b", "k4", sha256="s-coffee", phash=h["coffee"], status="rejected",
                     reject_reason="aesthetic_low_score"),  # not kept: ignored
    ]
    rows_a = [
        manifest_row("a", "k9", sha256="s-coffee2", phash=h["coffee"]),  # kept twin of b/k4?
        manifest_row("a", "k2", sha256="s-astro", phash=h["astronaut"]),
        manifest_row("a", "k3", sha256="s-astro", phash=h["astronaut"]),  # exact of a/k2
        manifest_row("a", "k5", sha256=None, phash=None),  # nothing to compare
    ]
    paths = [write_shard(tmp_path, "b", rows_b), write_shard(tmp_path, "a", rows_a)]
    table = dedup_run(paths, max_hamming=6)
    ids = {(r["shard_id"], r["source_key"]): r["id"] for r in rows_a + rows_b}
    assert pairs(table) == {
        (ids["a", "k3"], ids["a", "k2"], "exact"),
        (ids["b", "k1"], ids["a", "k2"], "exact"),
        (ids["b", "k2"], ids["a", "k2"], "near"),
    }
    # Exact only: the recompressed copy is kept.
    assert pairs(dedup_run(paths, max_hamming=-1)) == {
        (ids["a", "k3"], ids["a", "k2"], "exact"),
        (ids["b", "k1"], ids["a", "k2"], "exact"),
    }
    out = write_dedup(tmp_path, max_hamming=6)
    assert out == tmp_path / "dedup" / "duplicates.parquet"
    assert pairs(pq.read_table(out)) == pairs(table)


def test_near_chain_keeps_the_far_end(tmp_path: Path) -> None:
    # A~B (3 bits), B~C (3 bits), A vs C 6 bits: with k=4, B goes, C stays.
    a, b, c = 0, 0b111, 0b111111
    rows = [manifest_row("s", key, sha256=key, phash=f"{value:016x}")
            for key, value in (("1", a), ("2", b), ("3", c))]
    table = dedup_run([write_shard(tmp_path, "s", rows)], max_hamming=4)
    assert pairs(table) == {(rows[1]["id"], rows[0]["id"], "near")}


def test_exact_copy_of_a_near_duplicate_points_at_the_kept_row(tmp_path: Path) -> None:
    rows = [
        manifest_row("s", "1", sha256="x", phash=f"{0:016x}"),
        manifest_row("s", "2", sha256="y", phash=f"{1:016x}"),  # near 1
        manifest_row("s", "3", sha256="y", phash=f"{1:016x}"),  # exact 2 -> points at 1
    ]
    table = dedup_run([write_shard(tmp_path, "s", rows)], max_hamming=2)
    assert pairs(table) == {(rows[1]["id"], rows[0]["id"], "near"),
                            (rows[2]["id"], rows[0]["id"], "exact")}


def test_no_manifests_no_duplicates() -> None:
    assert dedup_run([], max_hamming=6).num_rows == 0
