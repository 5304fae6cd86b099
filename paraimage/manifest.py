"""The manifest: one Parquet file per input shard, one row per input record.

This module is the single definition of the data contract (docs/manifest.md explains
each column). Every stage fills only its own group of columns; the writer casts rows to
``MANIFEST_SCHEMA`` so a stage that emits a wrong type fails loudly at write time
instead of producing a manifest DuckDB cannot union with its siblings.

Bump ``SCHEMA_VERSION`` when a column is added, removed or changes meaning.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa

SCHEMA_VERSION = 3  # 2: `url` (URL+text sources), `caption_variants`; 3: `mosaic_boxes`

# Row verdicts: the funnel is inputs = kept + rejected + error.
STATUS_KEPT = "kept"
STATUS_REJECTED = "rejected"
STATUS_ERROR = "error"
STATUSES = (STATUS_KEPT, STATUS_REJECTED, STATUS_ERROR)

_IDENTITY = [
    pa.field("id", pa.string(), nullable=False),
    pa.field("source", pa.string(), nullable=False),
    pa.field("source_key", pa.string(), nullable=False),
    pa.field("shard_id", pa.string(), nullable=False),
    pa.field("image_ref", pa.string()),
    pa.field("sha256", pa.string()),
    pa.field("run_id", pa.string(), nullable=False),
    pa.field("schema_version", pa.int32(), nullable=False),
]
_IMAGE = [
    pa.field("width", pa.int32()),
    pa.field("height", pa.int32()),
    pa.field("short_edge", pa.int32()),
    pa.field("format", pa.string()),
    pa.field("mode", pa.string()),  # PIL mode before conversion to RGB (CMYK, I;16, P, ...)
    pa.field("n_bytes", pa.int64()),
]
_SOURCE_METADATA = [
    pa.field("url", pa.string()),  # where a downloaded image came from
    pa.field("alt_text", pa.string()),
    pa.field("source_aesthetic", pa.float32()),
    pa.field("punsafe", pa.float32()),
    pa.field("pwatermark", pa.float32()),
]
_FILTERS = [
    pa.field("aesthetic_score", pa.float32()),
    pa.field("aesthetic_source", pa.string()),  # "source" (LAION metadata) or "computed"
    pa.field("mosaic_score", pa.float32()),
    pa.field("mosaic_detected", pa.bool_()),
    # The regions that fired, best first: [y0, x0, y1, x1] full-resolution px each.
    pa.field("mosaic_boxes", pa.list_(pa.list_(pa.int32()))),
    pa.field("phash", pa.string()),
    pa.field("duplicate_of", pa.string()),  # id of the kept twin, for dedup rejects
]
_VERDICT = [
    pa.field("status", pa.string(), nullable=False),
    pa.field("reject_reason", pa.string()),
    pa.field("error", pa.string()),
]
CAPTION_VARIANT_TYPE = pa.struct([
    pa.field("captioner", pa.string()),  # the captioner's name (default: its model)
    pa.field("variant", pa.string()),  # e.g. "150w", or the configured name
    pa.field("model", pa.string()),
    pa.field("prompt", pa.string()),
    pa.field("target_words", pa.int32()),
    pa.field("params", pa.string()),
    pa.field("status", pa.string()),  # "ok", "rejected" (by a QA reject policy), "error"
    pa.field("reason", pa.string()),
    pa.field("caption", pa.string()),
    pa.field("caption_raw", pa.string()),
    pa.field("finish_reason", pa.string()),
    pa.field("flags", pa.list_(pa.string())),
    pa.field("n_tokens", pa.int32()),
    pa.field("n_words", pa.int32()),
])
_CAPTION = [
    pa.field("caption", pa.string()),
    pa.field("caption_raw", pa.string()),
    pa.field("caption_model", pa.string()),
    pa.field("caption_prompt", pa.string()),
    pa.field("caption_params", pa.string()),  # JSON of the sampling parameters
    pa.field("caption_finish_reason", pa.string()),
    pa.field("caption_flags", pa.list_(pa.string())),
    pa.field("caption_n_tokens", pa.int32()),
    # Every caption of the image (the main one too), one struct per (captioner, variant):
    # length variants and other models over the same images. Query one row per
    # caption with `SELECT id, v.* FROM manifests, UNNEST(caption_variants) AS t(v)`.
    pa.field("caption_variants", pa.list_(CAPTION_VARIANT_TYPE)),
]
_TEXT_STATS = [
    pa.field("n_words", pa.int32()),
    pa.field("n_nouns", pa.int32()),
    pa.field("n_adj_adv", pa.int32()),
    pa.field("n_prep", pa.int32()),
    pa.field("n_clip_tokens", pa.int32()),
    pa.field("n_sentences", pa.int32()),
    pa.field("nouns", pa.list_(pa.string())),
    # The same statistics of the source's alt-text, so LAION-vs-recaption tables come
    # from one definition (docs/statistics.md).
    pa.field("alt_n_words", pa.int32()),
    pa.field("alt_n_nouns", pa.int32()),
    pa.field("alt_n_adj_adv", pa.int32()),
    pa.field("alt_n_prep", pa.int32()),
    pa.field("alt_n_clip_tokens", pa.int32()),
    pa.field("alt_n_sentences", pa.int32()),
    pa.field("alt_nouns", pa.list_(pa.string())),
]

COLUMN_GROUPS: dict[str, list[pa.Field]] = {
    "identity": _IDENTITY,
    "image": _IMAGE,
    "source_metadata": _SOURCE_METADATA,
    "filters": _FILTERS,
    "verdict": _VERDICT,
    "caption": _CAPTION,
    "text_stats": _TEXT_STATS,
}

MANIFEST_SCHEMA = pa.schema(
    [f for group in COLUMN_GROUPS.values() for f in group],
    metadata={"paraimage.schema_version": str(SCHEMA_VERSION)},
)
MANIFEST_COLUMNS = tuple(MANIFEST_SCHEMA.names)


def record_id(source: str, source_key: str) -> str:
    """Stable id of a record: the same source and key give the same id in every run."""
    return hashlib.sha256(f"{source}\x1f{source_key}".encode()).hexdigest()[:24]


class ManifestRowError(ValueError):
    """A row does not fit the manifest schema (a stage emitted a wrong type or column)."""


def to_table(rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    """Cast manifest rows to a table of exactly ``MANIFEST_SCHEMA``.

    Columns a row lacks are null; columns outside the schema are an error, because a
    stage that writes an undeclared column would silently lose it otherwise.
    """
    rows = list(rows)
    for row in rows:
        extra = set(row) - set(MANIFEST_COLUMNS)
        if extra:
            raise ManifestRowError(f"columns not in the manifest schema: {sorted(extra)}")
    columns = {name: [row.get(name) for row in rows] for name in MANIFEST_COLUMNS}
    try:
        return pa.Table.from_pydict(columns, schema=MANIFEST_SCHEMA)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise ManifestRowError(f"manifest rows do not fit the schema: {exc}") from exc
