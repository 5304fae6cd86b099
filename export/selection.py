"""Which manifest rows an export holds, in which order, and how they split into shards.

The selection is DuckDB SQL over the same ``manifest`` view ``paraimage query`` shows
(stats/views.py, which reads through the kernel's one manifest reader: a row the run's
decisions rejected, a dedup duplicate, has ``status = 'rejected'`` here too), so a
``--where`` tried there works here. Rows come out sorted by
``id`` (a hash: sources and input shards mix across export shards, which a trainer
reading a few shards at a time wants) or by ``source, source_key`` (``--order source``:
images are read in the order they lie in the source tars).

The shard plan is fixed from metadata alone (row count and the manifest's ``n_bytes``)
before any image is read, so a resumed export knows which rows belong to a shard it
already wrote without opening a single image.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from captioners.qa import QUALITY_FLAGS
from export.mixing import VARIANT_OK, caption_variant_names
from export.options import ExportError
from paraimage.manifest import CAPTION_VARIANT_TYPE
from stats.inputs import StatsInputError
from stats.views import connect, create_run_views

# Columns an export reads, with the SQL type they get when a run's manifests lack them
# (older schema versions: `url` came with URL+text sources).
EXPORT_COLUMNS: dict[str, str] = {
    "id": "VARCHAR",
    "source": "VARCHAR",
    "source_key": "VARCHAR",
    "url": "VARCHAR",
    "image_ref": "VARCHAR",
    "sha256": "VARCHAR",
    "width": "INTEGER",
    "height": "INTEGER",
    "format": "VARCHAR",
    "n_bytes": "BIGINT",
    "aesthetic_score": "FLOAT",
    "aesthetic_source": "VARCHAR",
    "source_aesthetic": "FLOAT",
    "alt_text": "VARCHAR",
    "caption": "VARCHAR",
    "caption_raw": "VARCHAR",
    "caption_model": "VARCHAR",
    "caption_prompt": "VARCHAR",
    "caption_params": "VARCHAR",
    "caption_finish_reason": "VARCHAR",
    "caption_flags": "VARCHAR[]",
    "caption_variants": "",  # filled below from the manifest's struct type
    "n_words": "INTEGER",
    "n_clip_tokens": "INTEGER",
    "alt_n_words": "INTEGER",
}
_SQL_TYPES = {pa.string(): "VARCHAR", pa.int32(): "INTEGER", pa.list_(pa.string()): "VARCHAR[]"}
EXPORT_COLUMNS["caption_variants"] = "STRUCT({})[]".format(", ".join(
    f'"{f.name}" {_SQL_TYPES[f.type]}' for f in CAPTION_VARIANT_TYPE))
ORDER_BY = {"id": "id, source, source_key", "source": "source, source_key, id"}
# Tar headers of three members plus the text and JSON, per sample, for the byte budget.
SAMPLE_OVERHEAD_BYTES = 4096
STREAM_BATCH_ROWS = 1024


@dataclass(frozen=True)
class ShardPlan:
    index: int
    name: str
    start: int  # offset of its first row in the sorted selection
    n_rows: int
    first_id: str
    last_id: str

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "name": self.name, "start": self.start,
                "n_rows": self.n_rows, "first_id": self.first_id, "last_id": self.last_id}


@dataclass(frozen=True)
class SelectionPlan:
    n_rows: int
    digest: str  # of every exported column of every selected row, in order
    shards: list[ShardPlan]


def split_into_shards(
    n_bytes: list[int], max_samples: int, max_bytes: int
) -> list[tuple[int, int]]:
    """(start, n_rows) per shard: a shard closes before it would pass either limit,
    and holds at least one row (one huge image still gets a shard of its own)."""
    shards: list[tuple[int, int]] = []
    start = size = 0
    for i, image_bytes in enumerate(n_bytes):
        estimate = image_bytes + SAMPLE_OVERHEAD_BYTES
        if i > start and (i - start >= max_samples or size + estimate > max_bytes):
            shards.append((start, i - start))
            start, size = i, 0
        size += estimate
    if len(n_bytes) > start:
        shards.append((start, len(n_bytes) - start))
    return shards


class Selection:
    """The selected rows of one run, sorted; opened once per export."""

    def __init__(self, run_dir: Path, where: str, order: str = "id") -> None:
        if order not in ORDER_BY:
            raise ExportError(f"unknown order {order!r}")
        self.where = where
        self.order_by = ORDER_BY[order]
        self.con = connect()
        try:
            create_run_views(self.con, run_dir)
        except StatsInputError as exc:
            raise ExportError(str(exc)) from exc
        except duckdb.Error as exc:
            raise ExportError(f"cannot read the manifests of {run_dir}: {exc}") from exc
        present = {row[0] for row in self.con.execute("DESCRIBE manifest").fetchall()}
        columns = ", ".join(
            name if name in present else f"NULL::{sql_type} AS {name}"
            for name, sql_type in EXPORT_COLUMNS.items()
        )
        try:
            self.con.execute(
                f"CREATE TEMP VIEW export_selection AS SELECT {columns} FROM manifest "
                f"WHERE ({where})"
            )
            self.con.execute("SELECT count(*) FROM export_selection").fetchall()
        except duckdb.Error as exc:
            message = str(exc).splitlines()[0]
            raise ExportError(f"bad --where {where!r}: {message}") from exc

    def plan(
        self, shard_name: Callable[[int], str], max_samples: int, max_bytes: int
    ) -> SelectionPlan:
        """Fix the shards; ``shard_name(index)`` names them."""
        fields = ", ".join(f"{name} := {name}" for name in EXPORT_COLUMNS)
        table = self.con.sql(
            f"SELECT id, coalesce(n_bytes, 0) AS n_bytes, "
            f"md5(CAST(struct_pack({fields}) AS VARCHAR)) AS row_digest "
            f"FROM export_selection ORDER BY {self.order_by}"
        ).to_arrow_table()
        ids = table.column("id").to_pylist()
        if None in ids:
            raise ExportError("the selection holds a row without an id")
        if len(set(ids)) != len(ids):
            raise ExportError("the selection holds duplicate ids; narrow --where")
        digest = hashlib.sha256()
        for row_digest in table.column("row_digest").to_pylist():
            digest.update(row_digest.encode())
        spans = split_into_shards(table.column("n_bytes").to_pylist(), max_samples, max_bytes)
        shards = [
            ShardPlan(i, shard_name(i), start, n, ids[start], ids[start + n - 1])
            for i, (start, n) in enumerate(spans)
        ]
        return SelectionPlan(len(ids), digest.hexdigest(), shards)

    def caption_variants(self) -> list[dict[str, Any]]:
        """The ``caption_variants`` of the selected rows: one line per (captioner,
        variant, model, target_words, prompt) with its rows, ok captions and mean words,
        and the mix names that pick it."""
        rows = self.con.execute("""
            SELECT v.captioner, v.variant, v.model, v.target_words, v.prompt,
                   count(*) AS n, count(*) FILTER (v.status = 'ok') AS ok,
                   avg(v.n_words) FILTER (v.status = 'ok') AS mean_words,
                   bool_or(v.model = caption_model) AS main
            FROM export_selection, UNNEST(caption_variants) AS t(v)
            GROUP BY ALL ORDER BY ALL
        """).fetchall()
        lines = []
        for captioner, variant, model, target, prompt, n, ok, words, main in rows:
            entry = {"captioner": captioner, "variant": variant, "model": model,
                     "target_words": target, "prompt": prompt, "rows": n, "ok": ok,
                     "mean_words": words, "status": VARIANT_OK}
            entry["names"] = caption_variant_names(entry, model if main else None)
            lines.append(entry)
        return lines

    def run_counts(self) -> list[dict[str, Any]]:
        """Rows of the whole run per source and status (the card's source table)."""
        rows = self.con.execute(
            "SELECT source, status, count(*) AS n FROM manifest GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        return [{"source": s, "status": st, "n": n} for s, st, n in rows]

    def describe_empty(self) -> str:
        """Why nothing matched: what the run holds, and what the default leaves out."""
        quality = "[" + ", ".join(f"'{flag}'" for flag in QUALITY_FLAGS) + "]"
        total, kept, flagged = self.con.execute(
            "SELECT count(*), count(*) FILTER (status = 'kept'), "
            "count(*) FILTER (status = 'kept' AND "
            f"list_has_any(coalesce(caption_flags, []), {quality})) FROM manifest"
        ).fetchone()
        flags = self.con.execute(
            "SELECT flag, count(*) FROM (SELECT unnest(caption_flags) AS flag FROM manifest "
            f"WHERE status = 'kept') WHERE list_contains({quality}, flag) "
            "GROUP BY flag ORDER BY count(*) DESC, flag"
        ).fetchall()
        flag_text = ", ".join(f"{flag} {n}" for flag, n in flags) or "none"
        return (
            f"no row matches --where {self.where!r}. The run has {total} rows, {kept} kept; "
            f"{flagged} kept rows have a caption quality flag ({flag_text}). To export kept "
            "rows whatever their flags: --where \"status = 'kept'\""
        )

    def iter_shard_rows(self, plan: SelectionPlan) -> Iterator[tuple[ShardPlan, pa.Table]]:
        """Each planned shard with its rows, streamed in the planned order."""
        reader = self.con.sql(
            f"SELECT * FROM export_selection ORDER BY {self.order_by}"
        ).to_arrow_reader(STREAM_BATCH_ROWS)
        pending: list[pa.RecordBatch] = []
        buffered = 0
        for shard in plan.shards:
            while buffered < shard.n_rows:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    raise ExportError(
                        "the manifests changed while exporting (fewer rows than planned)"
                    ) from None
                pending.append(batch)
                buffered += batch.num_rows
            table = pa.Table.from_batches(pending, schema=reader.schema)
            rows, rest = table.slice(0, shard.n_rows), table.slice(shard.n_rows)
            ids = rows.column("id")
            if ids[0].as_py() != shard.first_id or ids[-1].as_py() != shard.last_id:
                raise ExportError("the manifests changed while exporting (ids moved)")
            yield shard, rows
            pending = rest.to_batches()
            buffered = rest.num_rows
