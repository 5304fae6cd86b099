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

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import duckdb
import imagehash
import numpy as np
import pyarrow as pa
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


# DuckDB's working memory in dedup (the sort, the window, the band joins); past it
# DuckDB spills to a temporary folder. Besides it the process grows by ~170 bytes a row
# (positions, twins and decisions in numpy, and what DuckDB does not count). Measured
# (benchmarks/run_level_memory.py, peak above imports): 1M rows 554 MiB / 13.5 s, 2M
# 821 MiB / 31.6 s, where the rows held in Python took 714 MiB / 12.5 s and 1333 MiB /
# 33.4 s. A 256MB limit gave 415 MiB at 1M, but past it spilling doubled the time at 2M.
DEDUP_MEMORY_LIMIT = "512MiB"  # the job passes ray.run_level_memory


def _load_rows(con: duckdb.DuckDBPyConnection, paths: Sequence[Path],
               statuses: Sequence[str], decisions: Sequence[Path]) -> int:
    """The rows dedup decides, as the DuckDB table ``rows``: ``pos`` (the position in
    ``(shard_id, source_key, id)`` order), ``id``, ``twin`` (the position of the first
    row with the same sha256; -1 without one) and ``h`` (the pHash as 64 bits; null
    without one). Returns the number of rows.

    The table stays in DuckDB (spilling past ``DEDUP_MEMORY_LIMIT``): as Arrow columns
    of ids and hex strings in Python, with the dictionary of sha256s, dedup held about
    700 bytes a row."""
    # Rows an earlier version marked in the manifest itself (it rewrote them) reached
    # dedup with such a status too.
    con.execute(
        f"""
        CREATE TEMP TABLE ordered AS
        SELECT row_number() OVER (ORDER BY shard_id, source_key, id) - 1 AS pos,
               id, sha256,
               CASE WHEN phash IS NULL OR phash = '' THEN NULL
                    ELSE ('0x' || phash)::UBIGINT END AS h
        FROM ({read_sql(con, paths, decisions)})
        WHERE status IN (SELECT unnest($statuses))
           OR reject_reason IN (SELECT unnest($marked))
        """,
        {"statuses": list(statuses), "marked": list(DEDUP_REASONS.values())},
    )
    con.execute(
        """
        CREATE TEMP TABLE rows AS
        SELECT pos, id, h,
               CASE WHEN sha256 IS NULL THEN -1
                    ELSE min(pos) OVER (PARTITION BY sha256) END AS twin
        FROM ordered
        """
    )
    con.execute("DROP TABLE ordered")
    return int(con.execute("SELECT count(*) FROM rows").fetchone()[0])


def _near_pairs(con: duckdb.DuckDBPyConnection, max_hamming: int) -> np.ndarray:
    """Pairs ``(i, j)`` of positions, i < j, of rows with a pHash that are not exact
    duplicates, with Hamming distance <= max_hamming, sorted by ``(j, i)``.

    By the pigeonhole principle two hashes within ``max_hamming`` agree on one of
    ``max_hamming + 1`` disjoint bands. Each band is joined on its own, and the true
    distance is checked inside the join, so only real pairs leave DuckDB: memory holds
    one band's join and the pairs found, not every candidate of every band (that
    held ~9 KiB per row: 925 MiB at 100k rows)."""
    con.execute("CREATE TEMP TABLE cand AS SELECT pos, h FROM rows "
                "WHERE h IS NOT NULL AND twin IN (pos, -1)")
    found = []
    for shift, width in _bands(max_hamming):
        pairs = con.execute(
            """
            WITH band AS (SELECT pos, h, (h >> $shift) & $mask AS val FROM cand)
            SELECT a.pos AS i, b.pos AS j
            FROM band a JOIN band b ON a.val = b.val AND a.pos < b.pos
            WHERE bit_count(xor(a.h, b.h)) <= $k
            """,
            {"k": max_hamming, "shift": shift, "mask": (1 << width) - 1},
        ).fetchnumpy()
        if len(pairs["i"]):
            found.append(np.stack([pairs["i"], pairs["j"]], axis=1).astype(np.int64))
    con.execute("DROP TABLE cand")
    if not found:
        return np.empty((0, 2), dtype=np.int64)
    pairs = np.unique(np.concatenate(found), axis=0)  # a pair may agree on two bands
    return pairs[np.lexsort((pairs[:, 0], pairs[:, 1]))]


def _ids_at(con: duckdb.DuckDBPyConnection, positions: np.ndarray) -> pa.Array:
    """The ids of the rows at ``positions``, in that order."""
    wanted = pa.table({"pos": np.unique(positions)})  # noqa: F841 - DuckDB scans it
    found = con.sql("SELECT r.pos, r.id FROM rows r JOIN wanted w ON r.pos = w.pos "
                    "ORDER BY r.pos").to_arrow_table()
    index = np.searchsorted(found.column("pos").to_numpy(), positions)
    return found.column("id").take(pa.array(index, pa.int64()))


def dedup_run(manifest_paths: Sequence[str | Path], max_hamming: int,
              statuses: Sequence[str] = ("kept",),
              decisions: Sequence[Path] = (),
              memory_limit: str = DEDUP_MEMORY_LIMIT) -> pa.Table:
    """Duplicates among the rows of ``manifest_paths`` (with the run-level
    ``decisions`` of other steps applied) with a status in ``statuses``, and the rows
    an earlier version of dedup marked in the manifests themselves (they reached dedup
    with such a status), so that deciding again gives the same answer.

    Returns ``(id, duplicate_of, dedup_kind)`` for every row to reject; the row each
    points at is the first of its group in ``(shard_id, source_key, id)`` order and is
    itself kept. A greedy pass in that order decides near duplicates: a row is a
    duplicate of the earliest *kept* row within ``max_hamming``, so a chain A~B~C with
    A far from C keeps A and C. ``max_hamming=0`` still merges identical pHashes;
    ``max_hamming < 0`` turns near-dup off. ``memory_limit`` caps DuckDB's share.
    """
    paths = [Path(p) for p in manifest_paths]
    if not paths:
        return DEDUP_SCHEMA.empty_table()
    with tempfile.TemporaryDirectory(prefix="paraimage-dedup-") as spill:
        con = duckdb.connect(config={"memory_limit": memory_limit,
                                     "temp_directory": spill})
        # DuckDB draws a progress bar on stdout (the job's console) past 2 s
        con.execute("SET enable_progress_bar = false")
        try:
            return _decide(con, _load_rows(con, paths, statuses, decisions), max_hamming)
        finally:
            con.close()


def _decide(con: duckdb.DuckDBPyConnection, n: int, max_hamming: int) -> pa.Table:
    twin = con.execute("SELECT twin FROM rows ORDER BY pos").fetchnumpy()["twin"]
    twin = np.asarray(twin, dtype=np.int64)
    position = np.arange(n, dtype=np.int64)
    target = np.full(n, -1, dtype=np.int64)  # position of the kept twin, -1 if kept
    kind = np.zeros(n, dtype=np.int8)  # 1 exact, 2 near
    exact = (twin >= 0) & (twin != position)
    target[exact], kind[exact] = twin[exact], 1
    del twin, position, exact

    if max_hamming >= 0:
        # Exact duplicates already point at their twin; only their representatives
        # take part in the near-duplicate pass.
        for i, j in _near_pairs(con, max_hamming):
            i, j = int(i), int(j)
            # Pairs come sorted by (j, i): the first kept i is j's earliest twin.
            if target[j] < 0 and target[i] < 0:
                target[j], kind[j] = i, 2

    # An exact copy of a row that is itself a near duplicate points at the row kept.
    duplicates = np.flatnonzero(target >= 0)
    root = target[duplicates]
    while len(root) and (target[root] >= 0).any():
        root = np.where(target[root] >= 0, target[root], root)
    if not len(duplicates):
        return DEDUP_SCHEMA.empty_table()
    kinds = pa.array([KIND_EXACT, KIND_NEAR])
    return pa.table({"id": _ids_at(con, duplicates), "duplicate_of": _ids_at(con, root),
                     "dedup_kind": kinds.take(kind[duplicates] - 1)}, schema=DEDUP_SCHEMA)


def write_dedup(run_dir: Path, max_hamming: int, statuses: Sequence[str] = ("kept",),
                memory_limit: str = DEDUP_MEMORY_LIMIT) -> Path:
    """``dedup_run`` over ``RUN_DIR/manifests/*.parquet`` as the run's other steps
    decided them (not as dedup did: its own previous decision is what it takes again),
    to ``dedup/duplicates.parquet``."""
    run_dir = Path(run_dir)
    table = dedup_run(manifest_files(run_dir), max_hamming, statuses,
                      decision_files(run_dir, without=(DEDUP_STEP,)), memory_limit)
    out = run_dir / "dedup" / "duplicates.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:  # like the manifests
        pq.write_table(table, tmp)
    return out


register_filter(FilterKind(
    DedupFilterConfig, PerceptualHashFilter, order=50,
    card_settings=("max_hamming",),
))
