"""Per-manifest rollups: every number the dataset tables need, aggregated per shard.

The tables (tables.py) are sums over kept rows: images, sums and counts of each
statistic, capped word-count histograms and texts per noun, per (source, captioner)
and text side. Summed per manifest file once, those add up exactly to the run's
tables, so a report over a million rows reads a few thousand small rows per shard
instead of scanning 18 columns and unnesting ~30M noun strings (what made the tables
100x a one-column scan).

A rollup is long-form, one row per (source, caption_model, text side, measure, key):

==============  ==========  ======================================================
measure         key         value
==============  ==========  ======================================================
images          NULL        kept rows (text NULL)
sum_/n_<field>  NULL        sum and non-null count of ``short_edge`` (text NULL) or
                            of a count statistic (``n_words`` ...) of the side
hist            word count  texts with that many words, capped at ``WORD_CAP``
noun            noun        texts of the side whose noun list holds the noun
funnel          reason      rows of any status (text: the status; caption_model NULL)
==============  ==========  ======================================================

Every measure but ``funnel`` counts kept rows only.

Files: ``RUN/stats/rollups/<manifest stem>@v<version>-<size>-<mtime_ns>.parquet``. A
shard rollup is of the manifest as written, and manifests are written once, so it never
goes stale in a run; the name still carries the file's size and modification time, so
a manifest replaced by hand (deleted and redone) is seen as stale from a directory
listing alone, without reading any file. The run's decisions (``RUN_DIR/decisions/``,
dedup's rejects) are counted by one more, small rollup,
``@decisions-<digest>.parquet``: the rollup of the decided rows as decided minus their
rollup as written (negative values), so shard rollups plus it sum exactly to the rollup
of the rows every reader sees. Its digest is of the shard rollups' names and of the
decision files' names, sizes and times, so it is redone only when a decision changes.
``update_rollups`` writes missing and stale shard rollups in one scan of just those
manifests and the decisions rollup when missing, then merges all of them into one run
rollup, ``@run-<digest>.parquet`` (the digest is of the merged files' names, so it is
fresh exactly when they all are), with texts per noun summed to the levels the tables
report (all, per source, per captioner: ``noun_<level>`` measures): a few rows per
(group, noun), whatever the number of shards, which is all the tables read. Summing
drops what the decisions emptied (a zero count, a group left without kept rows), so
the merge has exactly the rows a rollup of the decided rows would have. The recaption
job rolls up each shard as it writes it and the run report updates the rest, so a
finished run's tables never read its rows again.
Runs whose statistics were recomputed (``stats/text_stats/``) and plain text inputs
have no rollups: their tables roll up the ``manifest`` view on the fly, with the same
SQL, so both paths give identical tables.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from paraimage.atomic import TMP_SUFFIX, atomic_path
from paraimage.funnel import counts_sql
from paraimage.manifest_reader import decision_files, read_sql, run_sql
from stats.definitions import COUNT_FIELDS, LENGTH_BUCKETS, SIDE_PREFIX
from stats.views import (
    STATS_DIR,
    connect,
    fill_columns,
    manifest_files,
    sql_list,
    text_stats_files,
)

log = logging.getLogger(__name__)

ROLLUPS_DIR = "rollups"  # under RUN/stats/
# Bump when a measure or a definition it depends on changes: older rollups go stale.
ROLLUP_VERSION = 1
HISTOGRAM_MAX_WORDS = 300
# Word counts are histogrammed exactly below this cap and lumped at it: every count at
# or past it falls in the last histogram bin and in the open last length bucket, so
# both tables come exactly from one capped histogram.
WORD_CAP = max(HISTOGRAM_MAX_WORDS, *(high for _, _, high in LENGTH_BUCKETS if high is not None))

MEASURE_IMAGES = "images"
MEASURE_HIST = "hist"
MEASURE_NOUN = "noun"
MEASURE_FUNNEL = "funnel"
# The run rollup holds texts per noun at the levels the tables report, not per
# (source, captioner): "noun_source" rows carry the source, "noun_captioner" the
# caption_model (NULL there is the "(none)" group), "noun_all" neither.
NOUN_LEVELS = ("all", "source", "captioner")
NOUN_LEVEL_MEASURES = {level: f"{MEASURE_NOUN}_{level}" for level in NOUN_LEVELS}
RUN_ROLLUP_PREFIX = "@run-"  # no manifest stem is empty, so no shard rollup starts so
DECISIONS_ROLLUP_PREFIX = "@decisions-"
_MERGED_PREFIXES = (RUN_ROLLUP_PREFIX, DECISIONS_ROLLUP_PREFIX)
ROLLUP_SCHEMA = pa.schema([
    pa.field("source", pa.string()),
    pa.field("caption_model", pa.string()),
    pa.field("text", pa.string()),
    pa.field("measure", pa.string()),
    pa.field("key", pa.string()),
    pa.field("value", pa.int64()),
])
_GROUP_COLUMNS = ("source", "caption_model")
_TMP_MAX_AGE_S = 3600


@dataclass(frozen=True)
class RollupUpdate:
    """What ``update_rollups`` did: the fresh run rollup (None when the run cannot have
    one: recomputed statistics, an unwritable folder), shard rollups written, files
    removed."""

    run_rollup: Path | None
    written: int
    removed: int


def rollup_dir(run_dir: Path) -> Path:
    return Path(run_dir) / STATS_DIR / ROLLUPS_DIR


def rollup_name(manifest: Path) -> str:
    """The rollup file name that is fresh for ``manifest`` as it is on disk now."""
    st = manifest.stat()
    return f"{manifest.stem}@v{ROLLUP_VERSION}-{st.st_size}-{st.st_mtime_ns}.parquet"


def _stem_of(rollup: Path) -> str:
    return rollup.name.rsplit("@", 1)[0]


def rollup_sql(con: duckdb.DuckDBPyConnection, relation: str, by_file: bool) -> str:
    """SQL that rolls up ``relation`` (manifest rows of every status, plus ``filename``
    when ``by_file``) into ROLLUP_SCHEMA rows (plus ``filename``).

    Three scans: the funnel's columns of all rows; the kept rows' integer columns
    (sums, counts and histograms per group, as maps); an unnest of their noun lists.
    The unnest repeats each row's group once per noun, so it carries a small integer
    group id, joined on before the unnest, and names the groups again only after
    aggregating (tens of thousands of rows)."""
    file_col = "filename, " if by_file else ""
    groups = f"{file_col}source, caption_model"
    kept = f"(SELECT * FROM {relation} WHERE status = 'kept')"
    wide = [f"count(*)::BIGINT AS \"{MEASURE_IMAGES}|\"",
            "coalesce(sum(short_edge), 0)::BIGINT AS \"sum_short_edge|\"",
            "count(short_edge)::BIGINT AS \"n_short_edge|\""]
    for side, p in SIDE_PREFIX.items():
        for n in COUNT_FIELDS:
            wide.append(f"coalesce(sum({p}{n}), 0)::BIGINT AS \"sum_{n}|{side}\"")
            wide.append(f"count({p}{n})::BIGINT AS \"n_{n}|{side}\"")
    hists = [
        # Not least(): it skips NULLs, so least(NULL, cap) is cap, not a missing text.
        f"histogram(if({p}n_words > {WORD_CAP}, {WORD_CAP}, {p}n_words)) AS \"hist_{side}\""
        for side, p in SIDE_PREFIX.items()
    ]
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE stats_rollup_groups AS
        SELECT (row_number() OVER () - 1)::INTEGER AS gid, *
        FROM (SELECT {groups}, {", ".join(wide + hists)} FROM {kept} GROUP BY ALL)
    """)
    join = " AND ".join(f"c.{c} IS NOT DISTINCT FROM g.{c}"
                        for c in (["filename"] if by_file else []) + list(_GROUP_COLUMNS))
    sides = list(SIDE_PREFIX.items())
    unnests = " UNION ALL ".join(
        f"SELECT g.gid * {len(sides)} + {k} AS key, unnest(c.{p}nouns) AS noun "
        f"FROM {kept} c JOIN stats_rollup_groups g ON {join}"
        for k, (_, p) in enumerate(sides)
    )
    side_case = " ".join(f"WHEN {k} THEN '{side}'" for k, (side, _) in enumerate(sides))
    hist_rows = " UNION ALL ".join(
        f"SELECT {groups}, '{side}' AS text, '{MEASURE_HIST}' AS measure, "
        f"e.key::VARCHAR AS key, e.value::BIGINT AS value "
        f"FROM stats_rollup_groups, unnest(map_entries(\"hist_{side}\")) AS t(e)"
        for side, _ in sides
    )
    return f"""
        WITH sums AS (
            UNPIVOT (SELECT {groups}, COLUMNS('.*\\|.*') FROM stats_rollup_groups)
            ON COLUMNS('.*\\|.*') INTO NAME name VALUE value
        ), nouns AS (
            SELECT key, noun, count(*)::BIGINT AS value FROM ({unnests}) GROUP BY ALL
        )
        SELECT {groups}, nullif(split_part(name, '|', 2), '') AS text,
               split_part(name, '|', 1) AS measure, NULL::VARCHAR AS key, value
        FROM sums
        UNION ALL {hist_rows}
        UNION ALL
        SELECT {", ".join("g." + c for c in groups.split(", "))},
               CASE nouns.key % {len(sides)} {side_case} END AS text,
               '{MEASURE_NOUN}' AS measure, noun AS key, value
        FROM nouns JOIN stats_rollup_groups g ON nouns.key // {len(sides)} = g.gid
        UNION ALL
        SELECT {file_col}source, NULL AS caption_model, status AS text,
               '{MEASURE_FUNNEL}' AS measure, reason AS key, n::BIGINT AS value
        FROM ({counts_sql(relation, [*(["filename"] if by_file else []), "source"])})
    """


def run_level_sql(fine: str) -> str:
    """SQL turning rollup rows (``fine``: a relation of ROLLUP_SCHEMA rows, one or many
    per group, some negative: the decisions rollup) into the run rollup: every measure
    summed per group, and the noun rows summed to the NOUN_LEVELS instead of kept per
    (source, captioner). What sums to nothing is left out, as a rollup of the rows
    themselves would: counts of zero, and the kept-row measures of a group without
    kept rows (its sums may be a true zero while it has some)."""
    level = ("CASE GROUPING(source, caption_model) WHEN 3 THEN 'all' WHEN 1 THEN 'source' "
             "ELSE 'captioner' END")
    return f"""
        WITH summed AS (
            SELECT source, caption_model, text, measure, key, sum(value)::BIGINT AS value
            FROM {fine} WHERE measure <> '{MEASURE_NOUN}' GROUP BY ALL
        ), live AS (
            SELECT source, caption_model, TRUE AS has_kept FROM summed
            WHERE measure = '{MEASURE_IMAGES}' AND value > 0
        )
        SELECT s.source, s.caption_model, s.text, s.measure, s.key, s.value
        FROM summed s LEFT JOIN live l ON s.source IS NOT DISTINCT FROM l.source
                                      AND s.caption_model IS NOT DISTINCT FROM l.caption_model
        WHERE CASE WHEN s.measure IN ('{MEASURE_FUNNEL}', '{MEASURE_HIST}') THEN s.value <> 0
                   ELSE l.has_kept IS NOT NULL END
        UNION ALL
        SELECT source, caption_model, text, '{MEASURE_NOUN}_' || {level} AS measure, key,
               sum(value)::BIGINT AS value
        FROM {fine} WHERE measure = '{MEASURE_NOUN}'
        GROUP BY GROUPING SETS ((text, key), (text, source, key), (text, caption_model, key))
        HAVING sum(value) <> 0
    """


def update_rollups(
    run_dir: Path, threads: int | None = None, memory_limit: str | None = None
) -> RollupUpdate:
    """Writes the rollups that are missing or stale for ``run_dir``'s manifests,
    removes stale ones, and merges the shards' into the run rollup."""
    run_dir = Path(run_dir)
    every = manifest_files(run_dir)
    if text_stats_files(run_dir) or not _writable(rollup_dir(run_dir)):
        return RollupUpdate(run_rollup=None, written=0, removed=0)
    written = write_rollups(run_dir, every, threads=threads, memory_limit=memory_limit)
    out_dir = rollup_dir(run_dir)
    removed = _remove_stale(out_dir, {m.stem: rollup_name(m) for m in every})
    shards = fresh_rollups(run_dir)
    if shards is None:  # a manifest was replaced meanwhile: the next report catches up
        return RollupUpdate(run_rollup=None, written=written, removed=removed)
    decided = _decisions_rollup(run_dir, out_dir, shards, threads, memory_limit)
    merged = [*shards, *([decided] if decided else [])]
    return RollupUpdate(run_rollup=_run_rollup(out_dir, merged), written=written,
                        removed=removed)


def _decisions_rollup(
    run_dir: Path, out_dir: Path, shards: Sequence[Path],
    threads: int | None, memory_limit: str | None,
) -> Path | None:
    """The rollup that turns the shard rollups (rows as written) into the rollup of
    the rows as decided; None when the run has no decisions. Written if missing; older
    ones removed."""
    decisions = decision_files(run_dir)
    path = None
    if decisions:
        signature = [p.name for p in shards] + [
            f"{d.name}:{d.stat().st_size}:{d.stat().st_mtime_ns}" for d in decisions]
        digest = hashlib.sha256(
            "\n".join([f"v{ROLLUP_VERSION}", *signature]).encode("utf-8")
        ).hexdigest()[:16]
        path = out_dir / f"{DECISIONS_ROLLUP_PREFIX}{digest}.parquet"
        if not path.exists():
            _write_atomic(_decided_minus_written(run_dir, decisions, threads, memory_limit),
                          path)
    for old in out_dir.glob(f"{DECISIONS_ROLLUP_PREFIX}*.parquet"):
        if old != path:
            old.unlink(missing_ok=True)
    return path


def _decided_minus_written(
    run_dir: Path, decisions: Sequence[Path], threads: int | None, memory_limit: str | None,
) -> pa.Table:
    """Rollup of the decided rows as every reader sees them, minus (negated values)
    their rollup as the manifests hold them."""
    con = connect(threads=threads, memory_limit=memory_limit)
    decided_ids = f"SELECT id FROM read_parquet({sql_list(decisions)}, union_by_name = true)"
    glob = str(run_dir / "manifests" / "*.parquet")
    parts = []
    try:
        for sign, relation in ((1, run_sql(con, run_dir)), (-1, read_sql(con, glob))):
            con.execute("CREATE OR REPLACE TEMP VIEW stats_decided AS SELECT * FROM "
                        f"({fill_columns(con, relation)}) WHERE id IN ({decided_ids})")
            part = con.sql(rollup_sql(con, "stats_decided", by_file=False)
                           ).to_arrow_table().cast(ROLLUP_SCHEMA)
            if sign < 0:
                index = part.schema.get_field_index("value")
                part = part.set_column(index, "value", pc.negate(part.column("value")))
            parts.append(part)
    finally:
        con.close()
    return pa.concat_tables(parts)


def _run_rollup(out_dir: Path, shards: Sequence[Path]) -> Path:
    """The shard rollups merged into the run rollup (written if missing; older ones
    removed)."""
    digest = hashlib.sha256(
        "\n".join(sorted(p.name for p in shards)).encode("utf-8")
    ).hexdigest()[:16]
    path = out_dir / f"{RUN_ROLLUP_PREFIX}{digest}.parquet"
    if not path.exists():
        con = connect()
        try:
            merged = con.sql(
                run_level_sql(f"read_parquet({sql_list(shards)})")
            ).to_arrow_table().cast(ROLLUP_SCHEMA)
        finally:
            con.close()
        _write_atomic(merged, path)
    for old in out_dir.glob(f"{RUN_ROLLUP_PREFIX}*.parquet"):
        if old != path:
            old.unlink(missing_ok=True)
    return path


def write_rollups(
    run_dir: Path,
    manifests: Sequence[Path],
    threads: int | None = None,
    memory_limit: str | None = None,
) -> int:
    """Rolls up those of ``manifests`` whose rollup is missing or stale, in one scan of
    them; returns how many were written. Stale files are left for ``update_rollups``."""
    out_dir = rollup_dir(run_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    existing = {p.name for p in out_dir.glob("*.parquet")}
    # Named before reading: a manifest replaced during the scan gets a stale name.
    wanted = {m: rollup_name(m) for m in manifests}
    missing = [m for m in manifests if wanted[m] not in existing]
    if not missing:
        return 0
    con = connect(threads=threads, memory_limit=memory_limit)
    try:
        # As written: the decisions are the decisions rollup's business (never stale).
        rows = fill_columns(con, read_sql(con, missing, filename=True))
        con.execute(f"CREATE OR REPLACE TEMP VIEW stats_rollup_input AS {rows}")
        rows = con.sql(rollup_sql(con, "stats_rollup_input", by_file=True)).to_arrow_table()
    finally:
        con.close()
    by_file = _split_by_file(rows)
    for manifest in missing:
        part = by_file.get(str(manifest), ROLLUP_SCHEMA.empty_table())
        _write_atomic(part, out_dir / wanted[manifest])
    return len(missing)


def _writable(out_dir: Path) -> bool:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a read-only copy of a run: tables roll up on the fly
        log.info("no rollups in %s: %s", out_dir, exc)
        return False
    return os.access(out_dir, os.W_OK)


def fresh_rollups(run_dir: Path) -> tuple[Path, ...] | None:
    """The shard rollup files of every manifest when all are fresh, else None."""
    if text_stats_files(run_dir):
        return None
    out_dir = rollup_dir(run_dir)
    existing = {p.name for p in out_dir.glob("*.parquet")} if out_dir.is_dir() else set()
    files = []
    for manifest in manifest_files(run_dir):
        name = rollup_name(manifest)
        if name not in existing:
            return None
        files.append(out_dir / name)
    return tuple(files)


def _split_by_file(rows: pa.Table) -> dict[str, pa.Table]:
    if rows.num_rows == 0:
        return {}
    rows = rows.sort_by("filename")
    names = rows.column("filename")
    starts = [0]
    boundaries = pc.not_equal(names.slice(1), names.slice(0, len(names) - 1))
    starts += [i + 1 for i in pc.indices_nonzero(boundaries).to_pylist()]
    starts.append(rows.num_rows)
    body = rows.drop_columns(["filename"]).cast(ROLLUP_SCHEMA)
    return {
        names[start].as_py(): body.slice(start, end - start)
        for start, end in zip(starts[:-1], starts[1:], strict=True)
    }


def _write_atomic(table: pa.Table, path: Path) -> None:
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")


def _remove_stale(out_dir: Path, fresh: dict[str, str]) -> int:
    """Removes rollups of gone manifests and of older versions of a manifest, and
    leftovers of interrupted writes (old ones only: another process may be writing)."""
    removed = 0
    for path in out_dir.iterdir():
        if path.name.startswith(_MERGED_PREFIXES) and not path.name.endswith(TMP_SUFFIX):
            continue  # _run_rollup and _decisions_rollup keep the fresh one of each
        if path.name.endswith(TMP_SUFFIX):
            stale = time.time() - path.stat().st_mtime > _TMP_MAX_AGE_S
        else:
            stale = fresh.get(_stem_of(path)) != path.name
        if stale:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
