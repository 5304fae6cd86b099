"""Deduplication across a whole run: exact (sha256) and near (perceptual hash).

Shards are written independently and resumably, so duplicates are found by a run-level
step over the manifests, not inside a shard. Per image, ``PerceptualHashFilter`` only
records ``phash`` (it never rejects); ``dedup_run`` then groups rows across all
manifests, keeps the first row of every group in the stable order
``(shard_id, source_key, id)`` and returns the others with ``duplicate_of``. Rejecting
them is a run-level decision (``dedup_apply.py``), never a rewrite of a manifest.

Near duplicates use the pigeonhole trick of multi-index hashing: two 64-bit hashes
within Hamming distance ``k`` agree exactly on at least one of ``k + 1`` disjoint bit
bands, so an equi-join on bands (DuckDB) finds every candidate pair without comparing
all pairs; the candidates are then checked with the real distance.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import duckdb
import imagehash
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from PIL import Image
from pydantic import Field

from filters.base import BaseImageFilter, FilterConfig
from filters.registry import FilterKind, register_filter
from paraimage.atomic import atomic_path
from paraimage.manifest_reader import decision_files, manifest_files, read_sql

DEDUP_STEP = "dedup"  # its decisions: RUN_DIR/decisions/dedup.parquet
KIND_EXACT = "exact"
KIND_NEAR = "near"
DEDUP_REASONS = {KIND_EXACT: "dedup_exact", KIND_NEAR: "dedup_near"}
HASH_BITS = 64
# phash of an image reduced to this size first: the hash sees 32x32 pixels anyway,
# and resampling a 3-megapixel image straight to 32x32 costs more than the hash.
_PREREDUCE_TO = 256

DEDUP_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("duplicate_of", pa.string(), nullable=False),
        pa.field("dedup_kind", pa.string(), nullable=False),
    ]
)


class DedupFilterConfig(FilterConfig):
    # Hamming distance between 64-bit pHashes at or below which two images are near
    # duplicates; 0 disables near-dup (exact only). Above ~12 unrelated images collide.
    max_hamming: int = Field(default=6, ge=0, le=16)


def compute_phash(image: Image.Image) -> str:
    """64-bit DCT perceptual hash (ImageHash's ``phash``) as 16 hex digits."""
    gray = image.convert("L")
    factor = min(gray.size) // _PREREDUCE_TO
    if factor > 1:
        gray = gray.reduce(factor)
    return str(imagehash.phash(gray, hash_size=8))


class PerceptualHashFilter(BaseImageFilter):
    """Records ``phash``; rejection happens run-wide in ``dedup_run``."""

    name: ClassVar[str] = "dedup"

    def __init__(self, config: DedupFilterConfig | None = None) -> None:
        self.config = config or DedupFilterConfig()
        super().__init__(self.config.mode, self.config.sources)

    def score(self, row: dict[str, Any], image: Image.Image | None) -> dict[str, Any]:
        return {"phash": compute_phash(image)} if image is not None else {}

    def reject_reason(self, row: dict[str, Any], scores: dict[str, Any]) -> str | None:
        return None


def _bands(max_hamming: int) -> list[tuple[int, int]]:
    """``max_hamming + 1`` disjoint (shift, width) bit bands covering 64 bits."""
    n = max_hamming + 1
    edges = np.linspace(0, HASH_BITS, n + 1).round().astype(int)
    return [(int(lo), int(hi - lo)) for lo, hi in zip(edges[:-1], edges[1:], strict=True)]


def _load_rows(con: duckdb.DuckDBPyConnection, paths: Sequence[Path],
               statuses: Sequence[str], decisions: Sequence[Path]) -> pa.Table:
    # Rows an earlier version marked in the manifest itself (it rewrote them) reached
    # dedup with such a status too. Arrow, not Python tuples: at 1M rows the tuples
    # and a dict of hashes held ~400 MiB.
    return con.sql(
        f"""
        SELECT id, sha256, phash
        FROM ({read_sql(con, paths, decisions)})
        WHERE status IN (SELECT unnest($statuses))
           OR reject_reason IN (SELECT unnest($marked))
        ORDER BY shard_id, source_key, id
        """,
        params={"statuses": list(statuses), "marked": list(DEDUP_REASONS.values())},
    ).to_arrow_table()


def _first_of_equal(column: pa.ChunkedArray) -> np.ndarray:
    """Per row, the position of the first row with the same value; -1 where null."""
    encoded = pc.dictionary_encode(column).combine_chunks()
    codes = pc.fill_null(encoded.indices, -1).to_numpy().astype(np.int64)
    valid = codes >= 0
    first = np.full(len(encoded.dictionary), len(codes), dtype=np.int64)
    np.minimum.at(first, codes[valid], np.flatnonzero(valid))
    return np.where(valid, first[np.where(valid, codes, 0)] if len(first) else -1, -1)


def _near_pairs(con: duckdb.DuckDBPyConnection, hashes: np.ndarray, order: np.ndarray,
                max_hamming: int) -> np.ndarray:
    """Pairs ``(i, j)`` of row positions, i < j, with Hamming distance <= max_hamming,
    sorted by ``(j, i)``.

    By the pigeonhole principle two hashes within ``max_hamming`` agree on one of
    ``max_hamming + 1`` disjoint bands. Each band is joined on its own, and the true
    distance is checked inside the join, so only real pairs leave DuckDB: memory holds
    one band's table and the pairs found, not every candidate of every band (that
    held ~9 KiB per row: 925 MiB at 100k rows)."""
    found = []
    for shift, width in _bands(max_hamming):
        band = pa.table({  # noqa: F841 - read by DuckDB's replacement scan
            "ord": order, "h": hashes,
            "val": (hashes >> np.uint64(shift)) & np.uint64((1 << width) - 1),
        })
        pairs = con.execute(
            """
            SELECT a.ord AS i, b.ord AS j
            FROM band a JOIN band b ON a.val = b.val AND a.ord < b.ord
            WHERE bit_count(xor(a.h, b.h)) <= $k
            """,
            {"k": max_hamming},
        ).fetchnumpy()
        if len(pairs["i"]):
            found.append(np.stack([pairs["i"], pairs["j"]], axis=1))
    if not found:
        return np.empty((0, 2), dtype=np.int64)
    pairs = np.unique(np.concatenate(found), axis=0)  # a pair may agree on two bands
    return pairs[np.lexsort((pairs[:, 0], pairs[:, 1]))]


def dedup_run(manifest_paths: Sequence[str | Path], max_hamming: int,
              statuses: Sequence[str] = ("kept",),
              decisions: Sequence[Path] = ()) -> pa.Table:
    """Duplicates among the rows of ``manifest_paths`` (with the run-level
    ``decisions`` of other steps applied) with a status in ``statuses``, and the rows
    an earlier version of dedup marked in the manifests themselves (they reached dedup
    with such a status), so that deciding again gives the same answer.

    Returns ``(id, duplicate_of, dedup_kind)`` for every row to reject; the row each
    points at is the first of its group in ``(shard_id, source_key, id)`` order and is
    itself kept. A greedy pass in that order decides near duplicates: a row is a
    duplicate of the earliest *kept* row within ``max_hamming``, so a chain A~B~C with
    A far from C keeps A and C. ``max_hamming=0`` still merges identical pHashes;
    ``max_hamming < 0`` turns near-dup off.
    """
    paths = [Path(p) for p in manifest_paths]
    if not paths:
        return DEDUP_SCHEMA.empty_table()
    con = duckdb.connect()
    rows = _load_rows(con, paths, statuses, decisions)
    n = rows.num_rows
    position = np.arange(n, dtype=np.int64)
    target = np.full(n, -1, dtype=np.int64)  # position of the kept twin, -1 if kept
    kind = np.zeros(n, dtype=np.int8)  # 1 exact, 2 near
    twin = _first_of_equal(rows.column("sha256"))
    exact = (twin >= 0) & (twin != position)
    target[exact], kind[exact] = twin[exact], 1

    if max_hamming >= 0:
        # Exact duplicates already point at their twin; only their representatives
        # take part in the near-duplicate pass.
        phashes = rows.column("phash")
        has_hash = pc.fill_null(pc.greater(pc.utf8_length(phashes), 0), False)
        cand = np.flatnonzero((target < 0) & has_hash.to_numpy(zero_copy_only=False))
        if len(cand) > 1:
            hashes = np.fromiter((int(h, 16) for h in phashes.take(cand).to_pylist()),
                                 dtype=np.uint64, count=len(cand))
            for i, j in _near_pairs(con, hashes, cand, max_hamming):
                i, j = int(i), int(j)
                # Pairs come sorted by (j, i): the first kept i is j's earliest twin.
                if target[j] < 0 and target[i] < 0:
                    target[j], kind[j] = i, 2

    # An exact copy of a row that is itself a near duplicate points at the row kept.
    duplicates = np.flatnonzero(target >= 0)
    root = target[duplicates]
    while len(root) and (target[root] >= 0).any():
        root = np.where(target[root] >= 0, target[root], root)
    ids = rows.column("id")
    kinds = pa.array([KIND_EXACT, KIND_NEAR])
    return pa.table({"id": ids.take(duplicates), "duplicate_of": ids.take(root),
                     "dedup_kind": kinds.take(kind[duplicates] - 1)}, schema=DEDUP_SCHEMA)


def write_dedup(run_dir: Path, max_hamming: int, statuses: Sequence[str] = ("kept",)) -> Path:
    """``dedup_run`` over ``RUN_DIR/manifests/*.parquet`` as the run's other steps
    decided them (not as dedup did: its own previous decision is what it takes again),
    to ``dedup/duplicates.parquet``."""
    run_dir = Path(run_dir)
    table = dedup_run(manifest_files(run_dir), max_hamming, statuses,
                      decision_files(run_dir, without=(DEDUP_STEP,)))
    out = run_dir / "dedup" / "duplicates.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:  # like the manifests
        pq.write_table(table, tmp)
    return out


register_filter(FilterKind(
    DedupFilterConfig, PerceptualHashFilter, order=50,
    card_settings=("max_hamming",),
))
