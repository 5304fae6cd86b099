"""Parquet export: Hugging Face `datasets` reads back the same ids, bytes and captions
as the webdataset export of the same run; row groups; byte-identical re-export."""

from __future__ import annotations

import io
import json
from pathlib import Path

import datasets
import pyarrow.parquet as pq
import webdataset as wds
from export_helpers import TARGET_WORDS, SmallRun
from PIL import Image

from export import SAMPLE_SCHEMA, export_run

MIX = {"alt_text": 0.3, "caption": 0.5, "caption_short": 0.2}


def load_parquet(out: Path, cache: Path) -> datasets.Dataset:
    files = sorted(str(p) for p in out.glob("shard-*.parquet"))
    return datasets.load_dataset("parquet", data_files=files, split="train",
                                 cache_dir=str(cache))


def test_datasets_reads_the_same_samples_as_webdataset(small_run: SmallRun,
                                                       tmp_path: Path) -> None:
    export_run(small_run.options(tmp_path / "pq", format="parquet", shard_samples=5,
                                 row_group_rows=2, mix=MIX), progress=False)
    export_run(small_run.options(tmp_path / "wds", shard_samples=5, mix=MIX), progress=False)
    table = load_parquet(tmp_path / "pq", tmp_path / "hf-cache")
    assert table.column_names == SAMPLE_SCHEMA.names
    tars = sorted(str(p) for p in (tmp_path / "wds").glob("*.tar"))
    web = list(wds.WebDataset(tars, shardshuffle=False))
    assert list(table["id"]) == [s["__key__"] for s in web] == small_run.default_ids
    by_id = {r["id"]: r for r in small_run.rows}
    for row, sample in zip(table, web, strict=True):
        assert row["image"] == sample[row["image_ext"]] == small_run.images[row["id"]]
        assert row["text"] == sample["txt"].decode()
        meta = json.loads(sample["json"])
        assert row["text_variant"] == meta["text_variant"]
        assert row["caption"] == meta["captions"]["caption"]["text"]
        assert row["alt_text"] == meta["captions"]["alt_text"]["text"]
        assert row["caption_length_target"] == TARGET_WORDS
        assert row["caption_variants"] == by_id[row["id"]]["caption_variants"]
        assert (row["width"], row["height"]) == (meta["width"], meta["height"])
        # the training text is the variant the mix drew (or its fallback)
        assert row["text"] == row[row["text_variant"]]
    assert set(table["text_variant"]) == {"alt_text", "caption", "caption_short"}


def test_images_decode_through_datasets_image_feature(small_run: SmallRun,
                                                      tmp_path: Path) -> None:
    export_run(small_run.options(tmp_path / "pq", format="parquet"), progress=False)
    table = load_parquet(tmp_path / "pq", tmp_path / "hf-cache")
    decoded = table.cast_column("image", datasets.Image())
    for row in decoded:
        assert row["image"].size == (row["width"], row["height"])
        original = Image.open(io.BytesIO(small_run.images[row["id"]]))
        assert row["image"].format == original.format


def test_row_groups_are_sized_for_streaming(small_run: SmallRun, tmp_path: Path) -> None:
    export_run(small_run.options(tmp_path / "pq", format="parquet", shard_samples=5,
                                 row_group_rows=2), progress=False)
    shards = sorted((tmp_path / "pq").glob("shard-*.parquet"))
    groups = [[pq.ParquetFile(p).metadata.row_group(i).num_rows
               for i in range(pq.ParquetFile(p).metadata.num_row_groups)] for p in shards]
    assert groups == [[2, 2, 1], [2, 2, 1], [2]]
    column = pq.ParquetFile(shards[0]).metadata.row_group(0).column(
        SAMPLE_SCHEMA.get_field_index("image"))
    assert column.compression == "UNCOMPRESSED"
    streamed = datasets.load_dataset("parquet", data_files=[str(p) for p in shards],
                                     split="train", streaming=True)
    assert [row["id"] for row in streamed] == small_run.default_ids


def test_parquet_reexport_is_byte_identical(small_run: SmallRun, tmp_path: Path) -> None:
    for name in ("a", "b"):
        export_run(small_run.options(tmp_path / name, format="parquet", shard_samples=7,
                                     mix=MIX, seed=3), progress=False)
    shards = sorted(p.name for p in (tmp_path / "a").glob("*.parquet"))
    assert shards == ["shard-00000.parquet", "shard-00001.parquet"]
    for name in [*shards, "README.md"]:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
