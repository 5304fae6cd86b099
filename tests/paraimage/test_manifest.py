from __future__ import annotations

import pyarrow as pa
import pytest

from paraimage.batches import batch_to_rows, public_columns, rows_to_batch
from paraimage.manifest import (
    MANIFEST_COLUMNS,
    MANIFEST_SCHEMA,
    SCHEMA_VERSION,
    ManifestRowError,
    record_id,
    to_table,
)


def row(**overrides: object) -> dict:
    base = {
        "id": "i1", "source": "folder", "source_key": "a.jpg", "shard_id": "00000",
        "run_id": "r", "schema_version": SCHEMA_VERSION, "status": "kept",
    }
    return {**base, **overrides}


def test_schema_has_the_design_contract_columns() -> None:
    for column in (
        "id", "source", "source_key", "image_ref", "sha256", "run_id", "schema_version",
        "width", "height", "short_edge", "format", "url", "alt_text", "source_aesthetic",
        "punsafe", "pwatermark", "aesthetic_score", "mosaic_score", "mosaic_detected",
        "mosaic_boxes", "phash", "status", "reject_reason", "error", "caption", "caption_raw",
        "caption_model", "caption_prompt", "caption_params", "caption_finish_reason",
        "caption_flags", "n_words", "n_nouns", "n_adj_adv", "n_prep", "n_clip_tokens",
        "nouns",
    ):
        assert column in MANIFEST_COLUMNS
    assert MANIFEST_SCHEMA.metadata[b"paraimage.schema_version"] == str(SCHEMA_VERSION).encode()


def test_record_id_is_stable_and_source_scoped() -> None:
    assert record_id("folder", "a.jpg") == record_id("folder", "a.jpg")
    assert record_id("folder", "a.jpg") != record_id("sa1b", "a.jpg")
    assert len(record_id("x", "y")) == 24


def test_to_table_fills_missing_columns_with_nulls() -> None:
    table = to_table([row(width=10, caption_flags=["truncated"])])
    assert table.schema == MANIFEST_SCHEMA
    assert table.column("width").to_pylist() == [10]
    assert table.column("caption").to_pylist() == [None]
    assert table.column("caption_flags").to_pylist() == [["truncated"]]


def test_to_table_refuses_undeclared_columns() -> None:
    with pytest.raises(ManifestRowError, match=r"columns not in the manifest schema: \['extra'\]"):
        to_table([row(extra=1)])


def test_to_table_refuses_wrong_types() -> None:
    with pytest.raises(ManifestRowError, match="do not fit the schema"):
        to_table([row(width="wide")])


def test_batches_keep_declared_types_through_nulls() -> None:
    rows = [row(width=None, caption_flags=None, _image_bytes=None)]
    batch = rows_to_batch(rows)
    # all-null columns still get their declared types, so blocks always unify
    assert batch.schema.field("width").type == pa.int32()
    assert batch.schema.field("caption_flags").type == pa.list_(pa.string())
    assert batch.schema.field("_image_bytes").type == pa.binary()
    assert batch_to_rows(batch) == rows


def test_empty_batch_keeps_columns() -> None:
    like = rows_to_batch([row()])
    empty = rows_to_batch([], like=like)
    assert empty.num_rows == 0
    assert empty.column_names == like.column_names


def test_public_columns_drop_internal() -> None:
    assert public_columns({"id": 1, "_image_bytes": b"x"}) == {"id": 1}
