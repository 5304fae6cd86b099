"""Webdataset export of a small run: exact read-back with the webdataset library,
deterministic tar headers, byte-identical re-export, shard sizing and order."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest
import webdataset as wds
from export_helpers import MODEL, PARAMS, PROMPT, TARGET_WORDS, SmallRun

from export import export_run
from export.selection import SAMPLE_OVERHEAD_BYTES, split_into_shards


def read_webdataset(out: Path) -> list[dict]:
    shards = sorted(str(p) for p in out.glob("shard-*.tar"))
    return list(wds.WebDataset(shards, shardshuffle=False, empty_check=False))


def test_webdataset_reads_back_exactly(small_run: SmallRun, tmp_path: Path) -> None:
    summary = export_run(small_run.options(tmp_path / "out", shard_samples=5), progress=False)
    assert (summary.selected, summary.exported, summary.shards) == (12, 12, 3)
    assert summary.skipped == {}
    samples = read_webdataset(tmp_path / "out")
    # default selection: kept rows without a quality flag, sorted by id
    assert [s["__key__"] for s in samples] == small_run.default_ids
    assert len(small_run.default_ids) == 12
    for sample in samples:
        row = next(r for r in small_run.rows if r["id"] == sample["__key__"])
        extension = "png" if row["format"] == "PNG" else "jpg"
        assert sample[extension] == small_run.images[row["id"]]  # original bytes
        assert sample["txt"].decode() == row["caption"]
        meta = json.loads(sample["json"])
        assert meta["id"] == row["id"]
        assert (meta["width"], meta["height"]) == (row["width"], row["height"])
        assert (meta["source"], meta["source_key"]) == (row["source"], row["source_key"])
        assert meta["image_ext"] == extension
        assert meta["text_variant"] == "caption"
        assert meta["aesthetic_score"] == pytest.approx(row["aesthetic_score"], abs=1e-6)
        caption = meta["captions"]["caption"]
        assert caption["text"] == row["caption"]
        assert caption["model"] == MODEL
        assert caption["prompt"] == PROMPT.format(n_words=TARGET_WORDS)
        assert caption["length_target_words"] == TARGET_WORDS
        assert caption["params"] == json.loads(PARAMS)
        assert caption["flags"] == ["prefix_stripped"]
        assert meta["captions"]["caption_raw"]["text"] == row["caption_raw"]
        assert meta["captions"]["caption_short"]["text"] == row["caption"].split(". ")[0] + "."
        # every variant is present in every sample, null where the row has none
        assert meta["captions"]["alt_text"] == {
            "text": row["alt_text"], "n_words": row["alt_n_words"]}
    assert sum(1 for s in samples if "png" in s) == 1
    assert {s["__key__"] for s in samples if json.loads(s["json"])["source"] == "sa1b"} == {
        r["id"] for r in small_run.rows if r["source"] == "sa1b"}


def test_tar_headers_carry_no_clock_or_owner(small_run: SmallRun, tmp_path: Path) -> None:
    export_run(small_run.options(tmp_path / "out", shard_samples=5), progress=False)
    with tarfile.open(tmp_path / "out" / "shard-00000.tar") as tar:
        members = tar.getmembers()
    assert len(members) == 15  # 5 samples x (image, json, txt)
    for info in members:
        assert (info.mtime, info.uid, info.gid, info.uname, info.gname, info.mode) == (
            0, 0, 0, "", "", 0o644)
    first = small_run.default_ids[0]
    extension = {"JPEG": "jpg", "PNG": "png"}[
        next(r["format"] for r in small_run.rows if r["id"] == first)]
    assert [m.name for m in members[:3]] == [
        f"{first}.{extension}", f"{first}.json", f"{first}.txt"]


def test_reexport_is_byte_identical(small_run: SmallRun, tmp_path: Path) -> None:
    for name in ("a", "b"):
        export_run(small_run.options(tmp_path / name, shard_samples=4,
                                     mix={"alt_text": 0.5, "caption": 0.5}), progress=False)
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*")
                     if p.is_file())
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*")
                     if p.is_file())
    assert files_a == files_b
    assert [str(p) for p in files_a if p.suffix == ".tar"] == [
        "shard-00000.tar", "shard-00001.tar", "shard-00002.tar"]
    for relative in files_a:  # shards, card, report, plots: all the same bytes
        assert (tmp_path / "a" / relative).read_bytes() == (tmp_path / "b" / relative).read_bytes()


def test_shards_close_at_the_byte_limit(small_run: SmallRun, tmp_path: Path) -> None:
    sizes = {r["id"]: r.get("n_bytes") for r in small_run.rows}
    ordered = [sizes[i] for i in small_run.default_ids]
    limit = 3 * SAMPLE_OVERHEAD_BYTES + sum(ordered[:3])  # exactly 3 samples fit first
    spans = split_into_shards(ordered, max_samples=100, max_bytes=limit)
    assert spans[0] == (0, 3)
    export_run(small_run.options(tmp_path / "out", shard_bytes=limit), progress=False)
    counts = [len(read_webdataset_shard(p)) for p in sorted((tmp_path / "out").glob("*.tar"))]
    assert counts == [n for _, n in spans]
    assert sum(counts) == 12


def read_webdataset_shard(path: Path) -> list[dict]:
    return list(wds.WebDataset(str(path), shardshuffle=False))


def test_split_into_shards_limits() -> None:
    overhead = SAMPLE_OVERHEAD_BYTES
    assert split_into_shards([], 10, 10**9) == []
    assert split_into_shards([1] * 7, 3, 10**9) == [(0, 3), (3, 3), (6, 1)]
    # a shard closes before it would pass the byte limit; a huge image gets its own
    sizes = [100, 100, 10**6, 100]
    assert split_into_shards(sizes, 10, 2 * (100 + overhead)) == [(0, 2), (2, 1), (3, 1)]


def test_order_source_follows_the_sources(small_run: SmallRun, tmp_path: Path) -> None:
    export_run(small_run.options(tmp_path / "out", order="source"), progress=False)
    keys = [s["__key__"] for s in read_webdataset(tmp_path / "out")]
    by_id = {r["id"]: r for r in small_run.rows}
    expected = sorted(small_run.default_ids,
                      key=lambda i: (by_id[i]["source"], by_id[i]["source_key"]))
    assert keys == expected
    assert keys != small_run.default_ids


def test_tar_stream_equals_tarfile_ustar_output(tmp_path: Path) -> None:
    import io
    import random

    from export.webdataset_writer import TarStream, ustar_header

    rng = random.Random(0)
    members = [("a1b2.jpg", rng.randbytes(1000)), ("a1b2.json", b"{}"),
               ("a1b2.txt", "café".encode()), ("c3.png", rng.randbytes(512)),
               ("c3.txt", b""), ("d" * 100, rng.randbytes(70_000))]
    ours = io.BytesIO()
    stream = TarStream(ours)
    for name, data in members:
        stream.add(name, data)
    stream.close()
    reference = io.BytesIO()
    with tarfile.open(fileobj=reference, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    assert ours.getvalue() == reference.getvalue()
    assert len(ours.getvalue()) % 10240 == 0
    # the same bytes through a real file, where a sample is one writev
    with open(tmp_path / "x.tar", "wb", buffering=0) as handle:
        stream = TarStream(handle)
        stream.add_files(members[:3])
        stream.add_files(members[3:])
        stream.close()
    assert (tmp_path / "x.tar").read_bytes() == reference.getvalue()
    with pytest.raises(ValueError, match="over 100 bytes"):
        ustar_header("d" * 101, 1)
