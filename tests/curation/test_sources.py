from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from curation.base import ShardSpec
from curation.folder import FolderSource, FolderSourceConfig
from curation.image_ref import ImageRefError, file_ref, open_image_ref, tar_ref
from curation.probe import IMAGE_BYTES
from curation.registry import MultiSource
from curation.tar_samples import split_member_name
from curation.webdataset import WebDatasetSource, WebDatasetSourceConfig
from paraimage.manifest import record_id


def make_folder(root: Path, jpeg: bytes) -> Path:
    (root / "sub").mkdir(parents=True)
    for name in ("b.jpg", "a.jpg", "sub/c.JPG", "d.png"):
        (root / name).write_bytes(jpeg)
    (root / "a.txt").write_text("  a red bicycle \n")
    (root / "b.json").write_text(json.dumps({"TEXT": "a cat", "AESTHETIC_SCORE": 6.5,
                                             "punsafe": 0.01, "pwatermark": None}))
    (root / "d.json").write_text("{not json")
    (root / "notes.md").write_text("not an image")
    return root


def test_folder_plan_is_sorted_and_sharded(tmp_path: Path, astronaut_jpeg: bytes) -> None:
    root = make_folder(tmp_path / "imgs", astronaut_jpeg)
    source = FolderSource(FolderSourceConfig(kind="folder", path=root, shard_size=3))
    plan = source.plan()
    assert [(s.shard_id, s.n_records, s.members) for s in plan] == [
        ("00000", 3, ("a.jpg", "b.jpg", "d.png")),
        ("00001", 1, ("sub/c.JPG",)),
    ]


def test_folder_records_with_sidecars(tmp_path: Path, astronaut_jpeg: bytes) -> None:
    root = make_folder(tmp_path / "imgs", astronaut_jpeg)
    source = FolderSource(FolderSourceConfig(kind="folder", path=root, shard_size=3))
    records = {r["source_key"]: r for r in source.read(source.plan()[0], "run-1")}
    assert records["a.jpg"]["alt_text"] == "a red bicycle"
    assert records["a.jpg"]["image_ref"] == file_ref(root / "a.jpg")
    assert records["a.jpg"][IMAGE_BYTES] == astronaut_jpeg
    assert records["a.jpg"]["id"] == record_id("folder", "a.jpg")
    b = records["b.jpg"]
    assert (b["alt_text"], b["source_aesthetic"], b["punsafe"], b["pwatermark"]) == (
        "a cat", 6.5, 0.01, None,
    )
    d = records["d.png"]
    assert d["status"] == "error"
    assert d["error"].startswith("sidecar_malformed_json: ")
    assert all(r["run_id"] == "run-1" and r["shard_id"] == "00000" for r in records.values())


def test_folder_limit(tmp_path: Path, astronaut_jpeg: bytes) -> None:
    root = make_folder(tmp_path / "imgs", astronaut_jpeg)
    source = FolderSource(FolderSourceConfig(kind="folder", path=root, limit=2))
    assert [s.members for s in source.plan()] == [("a.jpg", "b.jpg")]


def add_member(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def make_wds(path: Path, jpeg: bytes) -> Path:
    with tarfile.open(path, "w") as tar:
        add_member(tar, "000000.jpg", jpeg)
        add_member(tar, "000000.txt", b"an astronaut")
        add_member(tar, "000000.json", json.dumps({"aesthetic": 5.5}).encode())
        add_member(tar, "000001.json", b'{"caption": "no image here"}')
        add_member(tar, "000002.jpg", jpeg)
        add_member(tar, "000002.json", b"[1, 2")
        add_member(tar, "000003.jpg", jpeg)
        add_member(tar, "000003.png", jpeg)
        add_member(tar, "dir/000004.JPEG", jpeg)
    return path


def test_webdataset_samples(tmp_path: Path, astronaut_jpeg: bytes) -> None:
    tar_path = make_wds(tmp_path / "00007.tar", astronaut_jpeg)
    source = WebDatasetSource(WebDatasetSourceConfig(kind="webdataset", paths=[str(tar_path)]))
    (shard,) = source.plan()
    assert (shard.shard_id, shard.n_records) == ("00000-00007", 5)
    records = {r["source_key"]: r for r in source.read(shard, "run")}
    assert list(records) == [
        "00007.tar/000000", "00007.tar/000001", "00007.tar/000002",
        "00007.tar/000003", "00007.tar/dir/000004",
    ]
    ok = records["00007.tar/000000"]
    assert (ok["status"], ok["alt_text"], ok["source_aesthetic"]) == ("kept", "an astronaut", 5.5)
    assert open_image_ref(ok["image_ref"]) == astronaut_jpeg
    assert records["00007.tar/000001"]["error"] == (
        "webdataset_no_image: sample has only ['json']"
    )
    assert records["00007.tar/000002"]["error"].startswith("sidecar_malformed_json")
    assert records["00007.tar/000003"]["error"] == "webdataset_several_images: ['jpg', 'png']"
    assert records["00007.tar/dir/000004"]["image_ref"] == tar_ref(tar_path, "dir/000004.JPEG")


def test_webdataset_paths_must_match(tmp_path: Path) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="no tar file matches"):
        WebDatasetSourceConfig(kind="webdataset", paths=[str(tmp_path / "*.tar")])


@pytest.mark.parametrize(
    ("name", "expected"),
    [("a/b/000123.jpg", ("a/b/000123", "jpg")), ("x.seg.png", ("x", "seg.png")),
     ("k.JPG", ("k", "jpg"))],
)
def test_split_member_name(name: str, expected: tuple[str, str]) -> None:
    assert split_member_name(name) == expected


def test_image_ref_roots_confine_reads(tmp_path: Path) -> None:
    inside = tmp_path / "root" / "img.jpg"
    inside.parent.mkdir()
    inside.write_bytes(b"x")
    outside = tmp_path / "secret.jpg"
    outside.write_bytes(b"y")
    assert open_image_ref(file_ref(inside), roots=[tmp_path / "root"]) == b"x"
    escape = f"file:{tmp_path / 'root' / '..' / 'secret.jpg'}"
    with pytest.raises(ImageRefError, match="outside the allowed roots"):
        open_image_ref(escape, roots=[tmp_path / "root"])
    with pytest.raises(ImageRefError, match="points at nothing"):
        open_image_ref(file_ref(tmp_path / "root" / "gone.jpg"))
    with pytest.raises(ImageRefError, match="unknown image_ref form"):
        open_image_ref("http://example.com/x.jpg")


def test_multi_source_prefixes_and_dispatches(tmp_path: Path, astronaut_jpeg: bytes) -> None:
    first = make_folder(tmp_path / "one", astronaut_jpeg)
    second = make_folder(tmp_path / "two", astronaut_jpeg)
    multi = MultiSource([
        FolderSource(FolderSourceConfig(kind="folder", name="one", path=first, shard_size=10)),
        FolderSource(FolderSourceConfig(kind="folder", name="two", path=second, shard_size=10)),
    ])
    plan = multi.plan()
    assert [(s.shard_id, s.source) for s in plan] == [("one-00000", "one"), ("two-00000", "two")]
    records = list(multi.read(ShardSpec.from_dict(plan[1].to_dict()), "r"))
    assert {r["shard_id"] for r in records} == {"two-00000"}
    assert {r["source"] for r in records} == {"two"}
    assert records[0]["image_ref"].startswith(f"file:{second}")
    # same key, different source: different ids
    assert record_id("one", "a.jpg") != record_id("two", "a.jpg")


def test_multi_source_names_must_be_unique(tmp_path: Path, astronaut_jpeg: bytes) -> None:
    root = make_folder(tmp_path / "one", astronaut_jpeg)
    config = FolderSourceConfig(kind="folder", path=root)
    with pytest.raises(ValueError, match="source names must be unique"):
        MultiSource([FolderSource(config), FolderSource(config)])


def test_multi_source_refuses_a_source_with_nothing_to_read(
    tmp_path: Path, astronaut_jpeg: bytes
) -> None:
    from curation.base import EmptySourceError

    photos = make_folder(tmp_path / "photos", astronaut_jpeg)
    empty_tar = tmp_path / "empty.tar"
    with tarfile.open(empty_tar, "w"):
        pass
    full_tar = make_wds(tmp_path / "full.tar", astronaut_jpeg)
    folder = FolderSource(FolderSourceConfig(kind="folder", path=photos))
    # an empty tar among others is a shard of zero rows, not an empty source
    both = WebDatasetSource(
        WebDatasetSourceConfig(kind="webdataset", paths=[str(empty_tar), str(full_tar)]))
    assert [(s.shard_id, s.n_records) for s in MultiSource([folder, both]).plan()] == [
        ("folder-00000", 4), ("webdataset-00000-empty", 0), ("webdataset-00001-full", 5),
    ]
    only_empty = WebDatasetSource(
        WebDatasetSourceConfig(kind="webdataset", name="wds", paths=[str(empty_tar)]))
    with pytest.raises(EmptySourceError) as error:
        MultiSource([folder, only_empty]).plan()
    assert str(error.value) == "source 'wds' has nothing to read: its plan holds no records"
    (tmp_path / "nothing").mkdir()
    (tmp_path / "nothing" / "notes.md").write_text("not an image")
    with pytest.raises(EmptySourceError) as error:
        MultiSource([FolderSource(FolderSourceConfig(
            kind="folder", path=tmp_path / "nothing"))]).plan()
    assert str(error.value) == (
        f"source 'folder' has nothing to read: no image files under {tmp_path / 'nothing'} "
        "(looked for bmp, gif, jp2, jpeg, jpg, png, tif, tiff, webp)"
    )
