"""LAION / URL+text sources: img2dataset downloads from a real server on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import skimage.data

from curation.image_ref import open_image_ref
from curation.probe import IMAGE_BYTES
from curation.url_download import read_stats
from curation.url_text import UrlTextSource, UrlTextSourceConfig
from demo.local_server import LocalImageServer
from paraimage.manifest import record_id
from tests.conftest import jpeg_bytes

CONTACT = "https://example.org/paraimage-crawler"


@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("served")
    astronaut = jpeg_bytes(skimage.data.astronaut())
    (folder / "astronaut.jpg").write_bytes(astronaut)
    (folder / "coffee.jpg").write_bytes(jpeg_bytes(skimage.data.coffee()))
    (folder / "chelsea.jpg").write_bytes(jpeg_bytes(skimage.data.chelsea()))
    (folder / "rocket.jpg").write_bytes(jpeg_bytes(skimage.data.rocket()))
    (folder / "tiny.jpg").write_bytes(jpeg_bytes(np.full((30, 40, 3), 128, np.uint8)))
    (folder / "truncated.jpg").write_bytes(astronaut[:300])
    return folder


@pytest.fixture(scope="module")
def server(photo_folder: Path):
    with LocalImageServer(photo_folder, slow_seconds=3.0) as running:
        yield running


# (url route, name, metadata overrides, expected status, expected reason prefix)
CASES = [
    ("img", "astronaut.jpg", {}, "kept", None),
    ("img", "coffee.jpg", {}, "kept", None),
    ("img", "missing.jpg", {}, "error", "download_http_404: HTTP Error 404: Not Found"),
    ("slow", "chelsea.jpg", {}, "error", "download_timeout: "),
    ("html", "page.html", {}, "error", "download_not_an_image: Image decoding error"),
    ("noai", "rocket.jpg", {}, "rejected", "download_robots_optout"),
    ("img", "truncated.jpg", {}, "error", "download_not_an_image: Image decoding error"),
    ("img", "tiny.jpg", {}, "rejected", "download_too_small"),
    ("img", "coffee.jpg", {"aesthetic": 4.0}, "rejected", "prefilter_aesthetic"),
    ("img", "coffee.jpg", {"WIDTH": 300.0}, "rejected", "prefilter_short_edge"),
    ("img", "coffee.jpg", {"punsafe": 0.9}, "rejected", "prefilter_punsafe"),
    ("img", "coffee.jpg", {"pwatermark": 0.95}, "rejected", "prefilter_pwatermark"),
]


def laion_table(server: LocalImageServer, aesthetic_column: str) -> pa.Table:
    rows = []
    for route, name, overrides, _, _ in CASES:
        row = {"URL": server.url(name, route), "TEXT": f"alt {name}", "WIDTH": 600.0,
               "HEIGHT": 400.0, "punsafe": 0.01, "pwatermark": 0.1, "aesthetic": 6.5,
               **overrides}
        row[aesthetic_column] = row.pop("aesthetic")
        rows.append(row)
    return pa.Table.from_pylist(rows)


def make_source(tmp_path: Path, metadata: Path | str, **overrides) -> UrlTextSource:
    config = UrlTextSourceConfig.model_validate({
        "kind": "laion",
        "metadata": [str(metadata)],
        "rows_per_shard": 5,
        "prefilter": {"min_aesthetic": 5.0, "min_short_edge": 384, "max_punsafe": 0.5,
                      "max_pwatermark": 0.8},
        "download": {"timeout_s": 1, "thread_count": 4, "min_image_size": 64,
                     "contact_url": CONTACT},
        "download_dir": str(tmp_path / "downloads"),
        **overrides,
    })
    return UrlTextSource(config)


def read_all(source: UrlTextSource) -> dict[str, dict]:
    rows = [row for shard in source.plan() for row in source.read(shard, "run-1")]
    by_key = {row["source_key"]: row for row in rows}
    assert len(by_key) == len(rows)
    return by_key


@pytest.mark.parametrize("aesthetic_column", ["AESTHETIC_SCORE", "aesthetic"])
def test_laion_rows_get_images_or_reasons(
    tmp_path: Path, server: LocalImageServer, photo_folder: Path, aesthetic_column: str
) -> None:
    metadata = tmp_path / "part-00000.parquet"
    pq.write_table(laion_table(server, aesthetic_column), metadata)
    source = make_source(tmp_path, metadata)
    assert [(s.shard_id, s.n_records, s.row_group) for s in source.plan()] == [
        ("00000-part-00000", 5, 0), ("00001-part-00000", 5, 1),
        ("00002-part-00000", 2, 2),
    ]
    rows = read_all(source)
    assert sorted(rows) == sorted(f"part-00000/{i}" for i in range(len(CASES)))
    for index, (route, name, _, status, reason) in enumerate(CASES):
        row = rows[f"part-00000/{index}"]
        assert row["id"] == record_id("laion", f"part-00000/{index}")
        assert row["url"] == server.url(name, route)
        assert row["alt_text"] == f"alt {name}"
        assert row["status"] == status, (index, row)
        detail = row["reject_reason"] if status == "rejected" else row["error"]
        if reason is None:
            assert detail is None
            original = (photo_folder / name).read_bytes()
            assert row[IMAGE_BYTES] == original  # JPEGs are never re-encoded
            assert open_image_ref(row["image_ref"]) == original
            assert row["image_ref"].startswith(f"tar:{tmp_path / 'downloads'}/0000")
        else:
            assert detail.startswith(reason), (index, detail)
            assert row[IMAGE_BYTES] is None
    first = rows["part-00000/0"]
    assert (first["source_aesthetic"], first["punsafe"], first["pwatermark"]) == pytest.approx(
        (6.5, 0.01, 0.1)
    )
    # prefiltered rows were never requested: 8 URLs reached the server
    fetched = [agent for agent in server.user_agents if "paraimage" in agent]
    assert fetched and all(f"+{CONTACT}" in agent and "rom1504" not in agent for agent in fetched)
    stats = read_stats(tmp_path / "downloads")
    assert sum(s["count"] for s in stats) == 8
    assert sum(s["successes"] for s in stats) == 2


def test_rerun_downloads_nothing_again(tmp_path: Path, photo_folder: Path) -> None:
    metadata = tmp_path / "part-00000.parquet"
    with LocalImageServer(photo_folder, slow_seconds=3.0) as server:
        pq.write_table(laion_table(server, "AESTHETIC_SCORE"), metadata)
        first = read_all(make_source(tmp_path, metadata))
        requests = len(server.user_agents)
    # server gone: everything must come from the download folder
    again = read_all(make_source(tmp_path, metadata))
    assert requests == 8
    strip = [IMAGE_BYTES]
    assert {k: {c: v for c, v in r.items() if c not in strip} for k, r in first.items()} == {
        k: {c: v for c, v in r.items() if c not in strip} for k, r in again.items()
    }


def test_robots_directives_can_be_ignored_by_config(
    tmp_path: Path, server: LocalImageServer
) -> None:
    metadata = tmp_path / "m.parquet"
    pq.write_table(pa.table({"URL": [server.url("rocket.jpg", "noai")], "TEXT": ["r"]}),
                   metadata)
    source = make_source(tmp_path, metadata, download={"disallowed_header_directives": []})
    (row,) = read_all(source).values()
    assert row["status"] == "kept"


@pytest.mark.parametrize(
    ("preset", "layout", "expected"),
    [
        ("coyo", {"id": [7], "url": ["U"], "text": ["a dog"], "width": [640],
                  "height": [480], "aesthetic_score_laion_v2": [5.5],
                  "nsfw_score_opennsfw2": [0.2], "watermark_score": [0.3]},
         ("m-coyo/7", "a dog", 5.5, 0.2, 0.3)),
        ("datacomp", {"uid": ["abc"], "url": ["U"], "text": ["a cat"],
                      "original_width": [640], "original_height": [480]},
         ("m-datacomp/abc", "a cat", None, None, None)),
    ],
)
def test_presets_map_their_columns(
    tmp_path: Path, server: LocalImageServer, photo_folder: Path, preset: str, layout: dict,
    expected: tuple,
) -> None:
    layout["url"] = [server.url("astronaut.jpg")]
    # the metadata itself comes over HTTP from 127.0.0.1, as from a dataset host
    pq.write_table(pa.table(layout), photo_folder / f"m-{preset}.parquet")
    metadata = server.url(f"m-{preset}.parquet")
    source = make_source(tmp_path, metadata, kind="url_text", preset=preset)
    (row,) = read_all(source).values()
    assert (row["source_key"], row["alt_text"], row["source_aesthetic"], row["punsafe"],
            row["pwatermark"]) == pytest.approx(expected)
    assert row["status"] == "kept"


def test_cc12m_tsv_and_jsonl_and_csv(tmp_path: Path, server: LocalImageServer) -> None:
    url = server.url("astronaut.jpg")
    tsv = server.folder / "cc12m.tsv"
    tsv.write_text(f'{url}\ta "quoted" <PERSON> caption\n{server.url("gone.jpg")}\tsecond\n')
    rows = read_all(make_source(tmp_path / "a", server.url("cc12m.tsv"), kind="url_text",
                                preset="cc12m"))
    assert rows["cc12m/0"]["alt_text"] == 'a "quoted" <PERSON> caption'
    assert (rows["cc12m/0"]["status"], rows["cc12m/1"]["status"]) == ("kept", "error")

    jsonl = tmp_path / "items.jsonl"
    jsonl.write_text(json.dumps({"link": url, "desc": "j", "w": 512, "h": 512}) + "\n")
    columns = {"url": ["link"], "alt_text": ["desc"], "width": ["w"], "height": ["h"]}
    rows = read_all(make_source(tmp_path / "b", jsonl, kind="url_text", format="jsonl",
                                columns=columns))
    assert rows["items/0"]["alt_text"] == "j"

    csv = tmp_path / "items.csv"
    csv.write_text(f'link,desc,w,h\n{url},"a, b",10,10\n')
    rows = read_all(make_source(tmp_path / "c", csv, kind="url_text", format="csv",
                                columns=columns))
    assert rows["items/0"]["reject_reason"] == "prefilter_short_edge"
    assert rows["items/0"]["alt_text"] == "a, b"


def test_metadata_served_over_http(tmp_path: Path, photo_folder: Path) -> None:
    pq.write_table(pa.table({"URL": ["http://127.0.0.1:9/x.jpg"], "TEXT": ["t"]}),
                   photo_folder / "meta.parquet")
    with LocalImageServer(photo_folder) as server:
        source = make_source(tmp_path, server.url("meta.parquet", "img"))
        (shard,) = source.plan()
    assert shard.n_records == 1


def test_config_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no metadata file matches"):
        UrlTextSourceConfig(kind="laion", metadata=[str(tmp_path / "none-*.parquet")])
    with pytest.raises(ValueError, match="url_text needs a `preset` or both"):
        UrlTextSourceConfig(kind="url_text", metadata=["http://127.0.0.1/x.parquet"])
    metadata = tmp_path / "m.parquet"
    pq.write_table(pa.table({"link": ["x"]}), metadata)
    source = make_source(tmp_path, metadata)
    with pytest.raises(ValueError, match=r"has no URL column \(looked for \['URL', 'url'\]"):
        source.plan()


def test_download_killed_part_way_is_redone_whole(
    tmp_path: Path, server: LocalImageServer, photo_folder: Path
) -> None:
    metadata = tmp_path / "part-00000.parquet"
    pq.write_table(laion_table(server, "AESTHETIC_SCORE"), metadata)
    first = read_all(make_source(tmp_path, metadata))
    # what a SIGKILL mid-shard leaves: a half-written tar and no stats marker
    downloads = tmp_path / "downloads"
    tar = downloads / "00000.tar"
    tar.write_bytes(tar.read_bytes()[: tar.stat().st_size // 2])
    (downloads / "00000_stats.json").unlink()
    requests = len(server.user_agents)
    again = read_all(make_source(tmp_path, metadata))
    assert len(server.user_agents) > requests  # shard 00000 was fetched again
    assert {k: (r["status"], r["reject_reason"], r["error"], r[IMAGE_BYTES])
            for k, r in again.items()} == {
        k: (r["status"], r["reject_reason"], r["error"], r[IMAGE_BYTES])
        for k, r in first.items()
    }
    assert (downloads / "00000_stats.json").exists()


@pytest.mark.parametrize(("limit", "shards"), [(None, [1000, 1000, 500]), (1234, [1000, 234])])
def test_planning_streams_the_metadata_in_batches_into_whole_shards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: int | None, shards: list[int]
) -> None:
    import curation.url_metadata as url_metadata

    # batches of 300 rows: shards are cut across batches, never at a batch's edge
    monkeypatch.setattr(url_metadata, "READ_BATCH_ROWS", 300)
    n = 2500
    metadata = tmp_path / "laion.parquet"
    pq.write_table(pa.table({
        "URL": [f"http://127.0.0.1:9/{i}.jpg" for i in range(n)],
        "TEXT": [f"caption {i}" for i in range(n)],
        "WIDTH": [512.0] * n, "HEIGHT": [512.0] * n,
    }), metadata, row_group_size=700)
    source = make_source(tmp_path, metadata, rows_per_shard=1000, limit=limit)
    plan = source.plan()
    assert [shard.n_records for shard in plan] == shards
    normalised = pq.read_table(plan[0].uri)
    assert normalised.column("row").to_pylist() == list(range(sum(shards)))
    assert normalised.column("alt_text").to_pylist()[-1] == f"caption {sum(shards) - 1}"
    # a rerun plans from the normalised file: the metadata is not read again
    metadata.write_bytes(b"not parquet any more")
    assert [shard.n_records for shard in make_source(
        tmp_path, metadata, rows_per_shard=1000, limit=limit).plan()] == shards
