from __future__ import annotations

import http.server
import io
import json
import re
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from pydantic import ValidationError

from curation.image_ref import open_image_ref, tar_ref
from curation.probe import IMAGE_BYTES
from curation.sa1b import SA1BSource, SA1BSourceConfig, SA1BSourceError
from demo.local_server import BackgroundHTTPServer
from paraimage.manifest import MANIFEST_COLUMNS, record_id


def jpeg(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def photos() -> dict[str, bytes]:
    """Distinct real JPEGs, so a wrong member behind an image_ref cannot pass."""
    import skimage.data

    astronaut = skimage.data.astronaut()
    return {
        "full": jpeg(astronaut),
        "crop": jpeg(astronaut[:256, :320]),
        "coffee": jpeg(skimage.data.coffee()),
    }


def annotation(image_id: int, width: int = 512, height: int = 512, **image: Any) -> bytes:
    """An SA-1B-style annotation file: the image entry plus masks this source ignores."""
    entry = {"image_id": image_id, "width": width, "height": height,
             "file_name": f"sa_{image_id}.jpg", **image}
    masks = [
        {"id": 900 + i, "segmentation": {"size": [height, width], "counts": "fP`51d?1O2N0"},
         "bbox": [10.0 * i, 20.0, 30.0, 40.0], "area": 1200 + i, "predicted_iou": 0.93,
         "point_coords": [[25.0, 40.0]], "stability_score": 0.97,
         "crop_box": [0, 0, width, height]}
        for i in range(3)
    ]
    return json.dumps({"image": entry, "annotations": masks}).encode()


def write_tar(path: Path, members: list[tuple[str, bytes]]) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def make_tars(folder: Path, photos: dict[str, bytes]) -> dict[str, Path]:
    """Two tars laid out like SA-1B's (``./sa_<n>.jpg`` then ``./sa_<n>.json``)."""
    folder.mkdir(parents=True, exist_ok=True)
    no_height = json.dumps({"image": {"image_id": 5, "width": 512, "file_name": "sa_5.jpg"},
                            "annotations": []}).encode()
    first = write_tar(folder / "sa_000000.tar", [
        ("./sa_1.jpg", photos["full"]), ("./sa_1.json", annotation(1)),
        ("./sa_2.jpg", photos["crop"]), ("./sa_2.json", b'{"image": '),
        ("./sa_3.jpg", photos["crop"]),
        ("./sa_4.json", annotation(4)),
        ("./sa_5.jpg", photos["crop"]), ("./sa_5.json", no_height),
        ("./sa_6.jpg", photos["crop"]), ("./sa_6.json", annotation(6, file_name="sa_7.jpg")),
        ("./sa_8.jpg", photos["coffee"]), ("./sa_8.json", annotation(8, 600, 400)),
    ])
    second = write_tar(folder / "sa_000001.tar", [
        ("./sa_10.jpg", photos["coffee"]), ("./sa_10.json", annotation(10, 600, 400)),
        ("./sa_11.jpg", photos["full"]), ("./sa_11.json", annotation(11)),
    ])
    return {"sa_000000.tar": first, "sa_000001.tar": second}


def summary(rows: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    return [(row["source_key"], row["status"], row["error"]) for row in rows]


EXPECTED_FIRST = [
    ("sa_000000.tar/sa_1", "kept", None),
    ("sa_000000.tar/sa_2", "error", "sa1b_bad_json: Expecting value: line 1 column 11 (char 10)"),
    ("sa_000000.tar/sa_3", "error", "sa1b_missing_json: sa_3.jpg has no sa_3.json"),
    ("sa_000000.tar/sa_4", "error", "sa1b_missing_jpg: sa_4.json has no sa_4.jpg"),
    ("sa_000000.tar/sa_5", "error",
     "sa1b_bad_json: image.height is None, expected a positive integer"),
    ("sa_000000.tar/sa_6", "error",
     "sa1b_bad_json: image.file_name is 'sa_7.jpg', expected 'sa_6.jpg'"),
    ("sa_000000.tar/sa_8", "kept", None),
]
EXPECTED_SECOND = [("sa_000001.tar/sa_10", "kept", None), ("sa_000001.tar/sa_11", "kept", None)]


def read_all(source: SA1BSource) -> list[list[dict[str, Any]]]:
    return [list(source.read(shard, "run-1")) for shard in source.plan()]


def test_local_tars_plan_and_rows(tmp_path: Path, photos: dict[str, bytes]) -> None:
    tars = make_tars(tmp_path / "sa1b", photos)
    source = SA1BSource(SA1BSourceConfig(kind="sa1b", paths=[str(tmp_path / "sa1b/sa_*.tar")]))
    plan = source.plan()
    assert [(s.shard_id, s.source, s.uri, s.n_records) for s in plan] == [
        ("00000-sa_000000", "sa1b", str(tars["sa_000000.tar"].resolve()), 7),
        ("00001-sa_000001", "sa1b", str(tars["sa_000001.tar"].resolve()), 2),
    ]
    first, second = read_all(source)
    assert summary(first) == EXPECTED_FIRST
    assert summary(second) == EXPECTED_SECOND

    ok = first[0]
    assert ok["id"] == record_id("sa1b", "sa_000000.tar/sa_1")
    assert (ok["shard_id"], ok["run_id"], ok["source"]) == ("00000-sa_000000", "run-1", "sa1b")
    assert ok["image_ref"] == tar_ref(tars["sa_000000.tar"], "./sa_1.jpg")
    assert ok[IMAGE_BYTES] == photos["full"]
    assert open_image_ref(ok["image_ref"]) == photos["full"]
    assert open_image_ref(first[6]["image_ref"]) == photos["coffee"]
    assert open_image_ref(second[1]["image_ref"]) == photos["full"]
    # the image columns are the probe's to fill; the JSON's annotations go nowhere
    assert (ok["width"], ok["height"], ok["alt_text"]) == (None, None, None)
    assert set(ok) == {*MANIFEST_COLUMNS, IMAGE_BYTES}
    for bad in first[1:6]:
        assert (bad["image_ref"], bad[IMAGE_BYTES]) == (None, None)


def test_limit_reads_the_first_tars_by_name(tmp_path: Path, photos: dict[str, bytes]) -> None:
    tars = make_tars(tmp_path / "sa1b", photos)
    config = SA1BSourceConfig(
        kind="sa1b", name="sam", limit=1,
        paths=[str(tars["sa_000001.tar"]), str(tars["sa_000000.tar"])],
    )
    plan = SA1BSource(config).plan()
    assert [(s.shard_id, s.source, s.n_records) for s in plan] == [("00000-sa_000000", "sam", 7)]


def test_tar_broken_after_planning_still_yields_every_row(
    tmp_path: Path, photos: dict[str, bytes]
) -> None:
    tars = make_tars(tmp_path / "sa1b", photos)
    source = SA1BSource(SA1BSourceConfig(kind="sa1b", paths=[str(tars["sa_000001.tar"])]))
    (shard,) = source.plan()
    data = tars["sa_000001.tar"].read_bytes()
    # cut inside sa_11.jpg: sa_10 is whole, sa_11 is never reached
    cut = data.index(photos["full"]) + 100
    tars["sa_000001.tar"].write_bytes(data[:cut])
    rows = list(source.read(shard, "r"))
    assert summary(rows) == [
        ("sa_000001.tar/sa_10", "kept", None),
        ("sa_000001.tar/#unread-1", "error", "sa1b_unreadable_tar: unexpected end of data"),
    ]
    tars["sa_000001.tar"].unlink()
    rows = list(source.read(shard, "r"))
    assert [row["source_key"] for row in rows] == [
        "sa_000001.tar/#unread-0", "sa_000001.tar/#unread-1",
    ]
    assert rows[0]["error"].startswith("sa1b_unreadable_tar: [Errno 2] No such file")


def test_tar_grown_after_planning_yields_the_planned_rows(
    tmp_path: Path, photos: dict[str, bytes]
) -> None:
    tars = make_tars(tmp_path / "sa1b", photos)
    source = SA1BSource(SA1BSourceConfig(kind="sa1b", paths=[str(tars["sa_000001.tar"])]))
    (shard,) = source.plan()
    write_tar(tars["sa_000001.tar"], [
        ("./sa_10.jpg", photos["coffee"]), ("./sa_10.json", annotation(10)),
        ("./sa_11.jpg", photos["full"]), ("./sa_11.json", annotation(11)),
        ("./sa_12.jpg", photos["crop"]), ("./sa_12.json", annotation(12)),
    ])
    assert summary(list(source.read(shard, "r"))) == EXPECTED_SECOND


def test_members_split_apart_get_rows_of_their_own(
    tmp_path: Path, photos: dict[str, bytes]
) -> None:
    tar = write_tar(tmp_path / "sa_000002.tar", [
        ("sa_20.jpg", photos["crop"]), ("sa_21.jpg", photos["crop"]),
        ("sa_20.json", annotation(20)), ("sa_21.json", annotation(21)),
    ])
    source = SA1BSource(SA1BSourceConfig(kind="sa1b", paths=[str(tar)]))
    (shard,) = source.plan()
    rows = list(source.read(shard, "r"))
    assert summary(rows) == [
        ("sa_000002.tar/sa_20", "error", "sa1b_missing_json: sa_20.jpg has no sa_20.json"),
        ("sa_000002.tar/sa_21", "error", "sa1b_missing_json: sa_21.jpg has no sa_21.json"),
        ("sa_000002.tar/sa_20#2", "error",
         "sa1b_split_sample: members of sa_20 are not adjacent in the tar"),
        ("sa_000002.tar/sa_21#3", "error",
         "sa1b_split_sample: members of sa_21 are not adjacent in the tar"),
    ]
    assert len({row["id"] for row in rows}) == 4  # the shard writer refuses duplicate ids


class FlakyHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files, but first fails the GETs listed in ``faults`` (path -> modes)."""

    faults: dict[str, list[str]]

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a request log per GET would bury pytest's own output."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        modes = self.faults.get(self.path.partition("?")[0], [])
        mode = modes.pop(0) if modes else None
        if mode == "503":
            self.send_error(503, "try again later")
        elif mode in ("cut", "short"):
            data = Path(self.translate_path(self.path)).read_bytes()
            # cut: the connection drops half-way through the body; short: a whole,
            # shorter body (the object changed after HEAD gave its size)
            length = len(data) if mode == "cut" else len(data) // 2
            self.send_response(200)
            self.send_header("Content-Length", str(length))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.close_connection = True
        else:
            super().do_GET()


@dataclass
class Server:
    """The test's file server, which it can break (``faults``) or stop half-way."""

    url: str
    faults: dict[str, list[str]]
    stop: Callable[[], None]


@pytest.fixture()
def served(
    tmp_path: Path, photos: dict[str, bytes], http_server: Callable[..., BackgroundHTTPServer]
) -> tuple[Server, dict[str, Path]]:
    tars = make_tars(tmp_path / "www", photos)
    faults: dict[str, list[str]] = {}
    handler = type("Handler", (FlakyHandler,), {"faults": faults})
    running = http_server(handler, directory=tmp_path / "www")
    return Server(running.url, faults, running.stop), tars


def local_rows(tars: dict[str, Path]) -> list[list[dict[str, Any]]]:
    config = SA1BSourceConfig(kind="sa1b", paths=[str(p) for p in tars.values()])
    return read_all(SA1BSource(config))


def assert_same_rows_but_refs(
    fetched: list[list[dict[str, Any]]], local: list[list[dict[str, Any]]], cache: Path
) -> None:
    assert len(fetched) == len(local)
    for fetched_shard, local_shard in zip(fetched, local, strict=True):
        for got, want in zip(fetched_shard, local_shard, strict=True):
            if want["image_ref"] is not None:
                member = want["image_ref"].partition("#")[2]
                tar_name = want["source_key"].split("/")[0]
                assert got["image_ref"] == tar_ref(cache / tar_name, member)
                assert open_image_ref(got["image_ref"]) == want[IMAGE_BYTES]
            assert {**got, "image_ref": None} == {**want, "image_ref": None}


def progress(out: str) -> dict[str, str]:
    """Tar name -> what ``plan()`` printed for it (lines come in completion order)."""
    lines = {}
    counters = []
    for line in out.splitlines():
        head, _, what = line.partition(": ")
        tag, counter, name = head.split(" ")
        assert tag == "[sa1b]"
        counters.append(counter)
        lines[name] = re.sub(r"[0-9.]+ MB in [0-9.]+ s", "N MB in T s", what)
    assert counters == [f"{i}/{len(lines)}" for i in range(1, len(lines) + 1)]
    return lines


def test_urls_are_fetched_once_into_the_cache(
    served: tuple[Server, dict[str, Path]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server, tars = served
    cache = tmp_path / "cache"
    config = SA1BSourceConfig(
        kind="sa1b", cache_dir=cache,
        paths=[f"{server.url}/sa_000001.tar", f"{server.url}/sa_000000.tar"],
    )
    plan = SA1BSource(config).plan()
    assert [(s.shard_id, s.uri, s.n_records) for s in plan] == [
        ("00000-sa_000000", str(cache / "sa_000000.tar"), 7),
        ("00001-sa_000001", str(cache / "sa_000001.tar"), 2),
    ]
    assert sorted(p.name for p in cache.iterdir()) == ["sa_000000.tar", "sa_000001.tar"]
    for name, original in tars.items():
        assert (cache / name).read_bytes() == original.read_bytes()
    assert progress(capsys.readouterr().out) == {
        "sa_000000.tar": "fetched N MB in T s, 7 samples",
        "sa_000001.tar": "fetched N MB in T s, 2 samples",
    }

    server.stop()
    again = SA1BSource(config)
    assert again.plan() == plan  # nothing to fetch: the server is gone
    assert progress(capsys.readouterr().out) == {
        "sa_000000.tar": "cached, 7 samples", "sa_000001.tar": "cached, 2 samples",
    }
    assert_same_rows_but_refs(read_all(again), local_rows(tars), cache)


def test_links_file_rows_are_fetched(
    served: tuple[Server, dict[str, Path]], tmp_path: Path
) -> None:
    server, tars = served
    links = "file_name\tcdn_link\n" + "".join(
        f"{name}\t{server.url}/{name}?_nc_ht=scontent&oh=00_sig&oe=65F0\n" for name in tars
    )
    (tmp_path / "www" / "links.tsv").write_text(links)
    local_links = tmp_path / "links.tsv"
    local_links.write_text(links)
    cache = tmp_path / "cache"

    # a remote links file, read when planning
    remote = SA1BSource(SA1BSourceConfig(
        kind="sa1b", links_file=f"{server.url}/links.tsv", cache_dir=cache, limit=1,
    ))
    assert [s.shard_id for s in remote.plan()] == ["00000-sa_000000"]
    assert [p.name for p in cache.iterdir()] == ["sa_000000.tar"]  # limit: nothing more

    config = SA1BSourceConfig(kind="sa1b", links_file=str(local_links), cache_dir=cache)
    plan = SA1BSource(config).plan()
    assert [(s.uri, s.n_records) for s in plan] == [
        (str(cache / "sa_000000.tar"), 7), (str(cache / "sa_000001.tar"), 2),
    ]
    server.stop()
    again = SA1BSource(config)
    assert again.plan() == plan
    assert_same_rows_but_refs(read_all(again), local_rows(tars), cache)


@pytest.fixture()
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The fetch's back-off sleeps, recorded instead of slept."""
    slept: list[float] = []
    monkeypatch.setattr("curation.sa1b.time.sleep", slept.append)
    return slept


def test_failed_fetch_names_the_tar_and_keeps_the_rest(
    served: tuple[Server, dict[str, Path]], tmp_path: Path, sleeps: list[float]
) -> None:
    server, _ = served
    cache = tmp_path / "cache"
    config = SA1BSourceConfig(
        kind="sa1b", cache_dir=cache, retries=3,
        paths=[f"{server.url}/sa_000000.tar", f"{server.url}/sa_000009.tar"],
    )
    with pytest.raises(SA1BSourceError) as failure:
        SA1BSource(config).plan()
    missing = f"{server.url}/sa_000009.tar"
    assert str(failure.value) == (
        f"1 of 2 tars failed: cannot fetch {missing!r}: FileNotFoundError: {missing}"
    )
    assert sleeps == []  # a 404 is final: no retry
    assert [p.name for p in cache.iterdir()] == ["sa_000000.tar"]  # no .part left behind


@pytest.mark.parametrize("fault", ["503", "cut", "short"])
def test_transient_fetch_failures_are_retried(
    served: tuple[Server, dict[str, Path]], tmp_path: Path, sleeps: list[float], fault: str
) -> None:
    server, tars = served
    cache = tmp_path / "cache"
    server.faults["/sa_000001.tar"] = [fault, fault]
    config = SA1BSourceConfig(
        kind="sa1b", cache_dir=cache, retries=1, paths=[f"{server.url}/sa_000001.tar"]
    )
    with pytest.raises(SA1BSourceError, match="1 of 1 tars failed: cannot fetch"):
        SA1BSource(config).plan()
    assert (sleeps, list(cache.iterdir())) == ([1], [])  # a short copy is never cached

    server.faults["/sa_000001.tar"] = [fault]
    (shard,) = SA1BSource(config).plan()
    assert sleeps == [1, 1]
    assert (shard.n_records, (cache / "sa_000001.tar").read_bytes()) == (
        2, tars["sa_000001.tar"].read_bytes()
    )


def config_error(**fields: Any) -> tuple[tuple[Any, ...], str]:
    with pytest.raises(ValidationError) as failure:
        SA1BSourceConfig(kind="sa1b", **fields)
    (error,) = failure.value.errors()
    return error["loc"], error["msg"]


def test_config_errors_say_what_is_wrong(tmp_path: Path, photos: dict[str, bytes]) -> None:
    tars = make_tars(tmp_path / "a", photos)
    other = make_tars(tmp_path / "b", photos)
    url = "http://127.0.0.1:8000/sa_000000.tar"
    pattern = str(tmp_path / "none" / "sa_*.tar")
    assert config_error(paths=[pattern]) == (
        ("paths",), f"Value error, no tar file matches {pattern!r}"
    )
    assert config_error() == ((), "Value error, set exactly one of `paths` or `links_file`")
    assert config_error(paths=[url]) == (
        (), f"Value error, `cache_dir` is required to fetch remote tars ({url!r})"
    )
    assert config_error(paths=[str(tars["sa_000000.tar"]), str(other["sa_000000.tar"])]) == (
        (), f"Value error, two tars named 'sa_000000.tar': "
            f"{str(tars['sa_000000.tar'])!r} and {str(other['sa_000000.tar'])!r} "
            "(their source keys would collide)"
    )
    assert config_error(paths=["http://127.0.0.1:8000/"], cache_dir=tmp_path) == (
        (), "Value error, cannot name the tar of 'http://127.0.0.1:8000/': "
            "its path has no file name"
    )
    assert config_error(paths=[url], cache_dir=tmp_path, timeout_s=0)[0] == ("timeout_s",)
    assert config_error(paths=[url], cache_dir=tmp_path, mirror="x")[0] == ("mirror",)

    links = tmp_path / "links.tsv"
    links.write_text("file_name\turl\nsa_000000.tar\thttp://x/sa_000000.tar\n")
    assert config_error(links_file=str(links), cache_dir=tmp_path) == (
        ("links_file",), f"Value error, links file {str(links)!r} lacks column(s) "
                         "['cdn_link']; header is ['file_name', 'url']"
    )
    links.write_text("file_name\tcdn_link\n../sa_000000.tar\thttp://x/sa_000000.tar\n")
    assert config_error(links_file=str(links), cache_dir=tmp_path) == (
        ("links_file",), f"Value error, links file {str(links)!r} line 2: "
                         "file_name '../sa_000000.tar' must be a plain file name"
    )
    links.write_text("file_name\tcdn_link\nsa_000000.tar\thttp://x/sa_000000.tar\n")
    assert config_error(links_file=str(links)) == (
        (), "Value error, `cache_dir` is required with `links_file`: "
            "the tars it lists are fetched there"
    )
    assert config_error(links_file=str(links), paths=[url], cache_dir=tmp_path) == (
        (), "Value error, set exactly one of `paths` or `links_file`"
    )
