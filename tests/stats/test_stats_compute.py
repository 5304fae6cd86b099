from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from stats_helpers import manifest_row, write_manifest

from paraimage.manifest import MANIFEST_SCHEMA
from stats.compute import compute_text_stats, output_schema, text_columns_for
from stats.inputs import StatsInputError, open_input
from stats.text_stats import TextStatsExtractor

CAPTIONS = [
    "A dog sits on the red mat.",
    None,
    "",
    "Two small cats sleep under a wooden table near the window.",
    "He drove more slowly than his brother.",
]


@pytest.fixture
def manifests(tmp_path: Path) -> list[Path]:
    paths = []
    for shard in range(2):
        rows = [
            manifest_row("laion", f"{shard}-{i}", caption=c, alt_text=f"alt {i}",
                         caption_model="llava", short_edge=512 + i,
                         status="kept" if c is not None else "rejected")
            for i, c in enumerate(CAPTIONS)
        ]
        paths.append(write_manifest(tmp_path / "manifests" / f"{shard:05d}.parquet", rows))
    return paths


def _by_id(out_dir: Path) -> dict[str, dict]:
    rows = pq.read_table(sorted(out_dir.glob("*.parquet"))).to_pylist()
    return {r["id"]: r for r in rows}


def test_local_partials_match_the_extractor(
    manifests: list[Path], tmp_path: Path, extractor: TextStatsExtractor
) -> None:
    out = tmp_path / "text_stats"
    summary = compute_text_stats([open_input(p) for p in manifests], out, batch_size=2)
    assert summary.rows == 10 and len(summary.outputs) == 2
    schema = pq.read_schema(summary.outputs[0])
    for name in ("n_words", "nouns", "alt_n_clip_tokens", "short_edge", "id"):
        assert schema.field(name).type == MANIFEST_SCHEMA.field(name).type
    rows = _by_id(out)
    source = pq.read_table(manifests).to_pylist()
    expected = extractor.extract([r["caption"] for r in source])
    expected_alt = extractor.extract([r["alt_text"] for r in source])
    for row, want, want_alt in zip(source, expected, expected_alt, strict=True):
        got = rows[row["id"]]
        assert (got["source"], got["status"], got["caption_model"], got["short_edge"]) == (
            "laion", row["status"], "llava", row["short_edge"])
        assert {k: got[k] for k in (want or {})} == (want or {})
        if want is None:
            assert got["n_words"] is None and got["nouns"] is None
        assert {k: got["alt_" + k] for k in want_alt} == want_alt


def test_rerun_replaces_outputs(manifests: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "text_stats"
    out.mkdir()
    (out / "stale.parquet").write_bytes(b"old")
    compute_text_stats([open_input(manifests[0])], out)
    assert [p.name for p in out.glob("*.parquet")] == ["00000.parquet"]
    assert not out.with_name("text_stats.tmp").exists()


def test_csv_and_txt_inputs_with_text_kept(tmp_path: Path) -> None:
    csv = tmp_path / "prompts.csv"
    csv.write_text('prompt,short_edge\n"A dog sits on the red mat.",640\n,\n')
    txt = tmp_path / "more.txt"
    txt.write_text("He drove more slowly than his brother.\n")
    out = tmp_path / "out"
    compute_text_stats([open_input(csv), open_input(txt)], out, caption_column="prompt",
                       alt_column=None, keep_text=True)
    rows = pq.read_table(sorted(out.glob("*.parquet"))).to_pylist()
    assert [(r["source"], r["status"], r["caption"], r["n_words"], r["short_edge"])
            for r in rows] == [
        ("more", "kept", "He drove more slowly than his brother.", 7, None),
        ("prompts", "kept", "A dog sits on the red mat.", 7, 640),
        ("prompts", "kept", "", 0, None),
    ]
    assert "alt_n_words" not in rows[0]


def test_column_choices_are_checked() -> None:
    with pytest.raises(StatsInputError, match="both 'x'"):
        text_columns_for("x", "x")
    with pytest.raises(StatsInputError, match="no text column"):
        text_columns_for(None, None)
    with pytest.raises(StatsInputError, match="carried through"):
        text_columns_for("source", None)
    assert output_schema({"p": ""}, keep_text=True).names[5] == "caption"


def test_bad_passthrough_type_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"caption": ["a"], "short_edge": ["wide"]}), path)
    with pytest.raises(StatsInputError, match="'short_edge' is not int32"):
        compute_text_stats([open_input(path)], tmp_path / "out", alt_column=None)


@pytest.fixture(scope="module")
def ray_session():
    import ray

    # One Ray for the module; compute_text_stats uses it instead of starting its own.
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.mark.slow  # Ray actors
def test_ray_workers_give_the_same_partials(
    ray_session, manifests: list[Path], tmp_path: Path
) -> None:
    csv = tmp_path / "p.csv"
    csv.write_text('caption,alt_text\n"Two small cats sleep under a wooden table.",x\n')
    inputs = [open_input(p) for p in [*manifests, csv]]
    local = compute_text_stats(inputs, tmp_path / "local", keep_text=True)
    ray_run = compute_text_stats(inputs, tmp_path / "ray", keep_text=True, workers=2,
                                 batch_size=3)
    assert ray_run.rows == local.rows == 11
    # rows come back in no set order (batches go to whichever actor is free)
    key = ["source", "id", "caption", "alt_text"]
    want = pq.read_table(sorted((tmp_path / "local").glob("*.parquet"))).sort_by(
        [(k, "ascending") for k in key])
    got = pq.read_table(sorted((tmp_path / "ray").glob("*.parquet"))).sort_by(
        [(k, "ascending") for k in key])
    assert got.schema == want.schema
    assert got.to_pylist() == want.to_pylist()
    assert not list((tmp_path / "ray").glob("_*"))


@pytest.mark.slow  # Ray actors
def test_more_workers_than_cpus_run_on_those_that_fit(
    ray_session, manifests: list[Path], tmp_path: Path
) -> None:
    # the module's Ray has 2 CPUs: the third actor never starts, and must not be waited on
    inputs = [open_input(p) for p in manifests]
    local = compute_text_stats(inputs, tmp_path / "local", keep_text=True)
    ray_run = compute_text_stats(inputs, tmp_path / "ray", keep_text=True, workers=3,
                                 batch_size=2)
    assert ray_run.rows == local.rows == 10
    # one partial per actor that got batches: never one from the actor that did not start
    assert {p.name for p in ray_run.outputs} <= {"part-00000.parquet", "part-00001.parquet",
                                                  "part-00002.parquet"}
    assert len(ray_run.outputs) <= 2
    assert all(pq.read_metadata(p).num_rows > 0 for p in ray_run.outputs)
    key = [("source", "ascending"), ("id", "ascending"), ("caption", "ascending")]
    want = pq.read_table(list(local.outputs)).sort_by(key)
    assert pq.read_table(list(ray_run.outputs)).sort_by(key).to_pylist() == want.to_pylist()


@pytest.mark.slow  # Ray actors
def test_ray_workers_on_an_empty_file_write_an_empty_partial(
    ray_session, tmp_path: Path
) -> None:
    path = tmp_path / "empty.parquet"
    pq.write_table(pa.table({"caption": pa.array([], pa.string())}), path)
    summary = compute_text_stats([open_input(path)], tmp_path / "out", alt_column=None,
                                 workers=2)
    assert summary.rows == 0
    assert [p.name for p in summary.outputs] == ["part-00000.parquet"]
    table = pq.read_table(summary.outputs[0])
    assert table.num_rows == 0
    assert table.schema == output_schema({"caption": ""}, keep_text=False)


@pytest.mark.slow  # Ray actors
def test_a_worker_that_cannot_start_fails_the_run_and_keeps_the_old_partials(
    ray_session, manifests: list[Path], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    inputs = [open_input(p) for p in manifests]
    before = compute_text_stats(inputs, out, alt_column=None)
    with pytest.raises(OSError, match="Can't find model 'no_such_model'"):
        compute_text_stats(inputs, out, alt_column=None, workers=2, model="no_such_model")
    assert not out.with_name("out.tmp").exists()  # no temporary folder left behind
    assert tuple(sorted(out.glob("*.parquet"))) == before.outputs


@pytest.mark.slow  # Ray actors
def test_actor_methods_run_on_the_main_thread(ray_session) -> None:
    # PartialWriter relies on it: retain_heap()'s mallopt reaches the main thread's heap,
    # not those of other threads (Ray Data's UDF threads need RETAINED_HEAP_ENV)
    import threading

    import ray

    @ray.remote(num_cpus=0)
    class Probe:
        def on_main_thread(self) -> bool:
            return threading.current_thread() is threading.main_thread()

    probe = Probe.remote()
    assert ray.get(probe.on_main_thread.remote()) is True
    ray.kill(probe)
