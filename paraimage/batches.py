"""Row <-> column conversion for Ray Data batches (``batch_format="pyarrow"``).

Stages think in rows (one image at a time, a verdict per row); Ray Data hands them
Arrow tables. Converting through Arrow (not numpy) keeps nulls as ``None`` and ints as
ints, and every known column is rebuilt with its declared type, so blocks from
different workers always have the same schema.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from paraimage.manifest import MANIFEST_SCHEMA

Batch = pa.Table
Row = dict[str, Any]

# Columns that travel between stages but never reach a manifest.
INTERNAL_PREFIX = "_"
INTERNAL_COLUMN_TYPES: dict[str, pa.DataType] = {
    "_image_bytes": pa.binary(),
    "_caption_image": pa.binary(),  # raw HxWx3 uint8 pixels
    "_caption_image_shape": pa.list_(pa.int32()),
}


def column_type(name: str) -> pa.DataType | None:
    if name in INTERNAL_COLUMN_TYPES:
        return INTERNAL_COLUMN_TYPES[name]
    index = MANIFEST_SCHEMA.get_field_index(name)
    return MANIFEST_SCHEMA.field(index).type if index >= 0 else None


def batch_to_rows(batch: Batch) -> list[Row]:
    return batch.to_pylist()


def rows_to_batch(rows: Sequence[Row], like: Batch | None = None) -> Batch:
    """Columns in first-seen order (or ``like``'s when there are no rows); a column
    missing from some rows is null there."""
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    if not rows and like is not None:
        names = dict.fromkeys(like.column_names)
    arrays = [pa.array([row.get(name) for row in rows], type=column_type(name)) for name in names]
    return pa.Table.from_arrays(arrays, names=list(names))


def public_columns(row: Row) -> Row:
    return {k: v for k, v in row.items() if not k.startswith(INTERNAL_PREFIX)}
