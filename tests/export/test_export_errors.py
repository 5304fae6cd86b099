"""Bad input: clear one-line errors with exit code 2 for the command, counted skips for
images that are gone or changed (or a stop, when asked)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from export_helpers import SmallRun, build_small_run

from export import ExportError, export_run
from export.options import parse_size
from paraimage.shard_writer import write_manifest
from workflows.cli import main


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["export", "--no-progress", *args])
    return code, capsys.readouterr().err.strip()


def test_missing_run_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run_cli(capsys, "--run", str(tmp_path / "nope"), "--out", str(tmp_path / "o"),
                        "--format", "webdataset")
    assert (code, err) == (2, f"paraimage: error: run directory not found: {tmp_path / 'nope'}")
    assert not (tmp_path / "o").exists()


def test_run_dir_without_manifests(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "run").mkdir()
    code, err = run_cli(capsys, "--run", str(tmp_path / "run"), "--out", str(tmp_path / "o"),
                        "--format", "webdataset")
    assert code == 2
    assert err == (f"paraimage: error: no manifests in {tmp_path / 'run' / 'manifests'} "
                   f"(is {tmp_path / 'run'} a run?)")


@pytest.mark.parametrize(("where", "problem"), [
    ("status = = 'kept'", "syntax error"),
    ("no_such_column > 1", "no_such_column"),
])
def test_bad_where_sql(small_run: SmallRun, tmp_path: Path, where: str, problem: str,
                       capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run_cli(capsys, "--run", str(small_run.root), "--out", str(tmp_path / "o"),
                        "--format", "webdataset", "--where", where)
    assert code == 2
    assert err.startswith(f"paraimage: error: bad --where {where!r}: ")
    assert problem in err
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--format", "tfrecord"], "unknown format 'tfrecord'; choose one of webdataset, parquet"),
    (["--format", "parquet", "--shard-bytes", "lots"],
     "not a size: 'lots' (e.g. 500MB, 1GB, 2GiB, 1000000)"),
    (["--format", "parquet", "--shard-samples", "0"], "shard_samples must be positive, got 0"),
    (["--format", "webdataset", "--mix", "caption=1,title=1"],
     "--mix: unknown caption variant 'title'; known: caption, caption_raw, caption_short, "
     "alt_text, or variant:<label> / variant:<captioner>/<label> for the run's "
     "caption_variants"),
])
def test_bad_options(small_run: SmallRun, tmp_path: Path, args: list[str], message: str,
                     capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run_cli(capsys, "--run", str(small_run.root), "--out", str(tmp_path / "o"),
                        *args)
    assert (code, err) == (2, f"paraimage: error: {message}")


def test_empty_selection_says_what_the_run_holds(small_run: SmallRun, tmp_path: Path) -> None:
    with pytest.raises(ExportError) as error:
        export_run(small_run.options(tmp_path / "o", where="source = 'coyo'"), progress=False)
    assert str(error.value) == (
        "nothing to export: no row matches --where \"source = 'coyo'\". The run has 15 rows, "
        "13 kept; 1 kept rows have a caption quality flag (repetitive 1). To export kept "
        "rows whatever their flags: --where \"status = 'kept'\""
    )


def test_size_units() -> None:
    assert parse_size("500MB") == 500_000_000
    assert parse_size("1GiB") == 2**30
    assert parse_size("1.5k") == 1500
    assert parse_size("4096") == 4096
    with pytest.raises(ExportError, match="size must be positive"):
        parse_size("0")


def damaged_run(tmp_path: Path) -> tuple[SmallRun, dict[str, str]]:
    """A run where one file image is gone, one tar member is missing and one file was
    overwritten since the run; returns the run and {reason: id}."""
    run = build_small_run(tmp_path / "run")
    gone = run.row("https://example.invalid/001.jpg")
    Path(gone["image_ref"].removeprefix("file:")).unlink()
    changed = run.row("https://example.invalid/002.jpg")
    Path(changed["image_ref"].removeprefix("file:")).write_bytes(run.images[gone["id"]])
    manifest = run.root / "manifests" / "sa1b-00000.parquet"
    rows = pq.read_table(manifest).to_pylist()
    rows[1]["image_ref"] = rows[1]["image_ref"].replace("sa_1.jpg", "sa_9.jpg")
    write_manifest(manifest, rows)
    return run, {"gone": gone["id"], "changed": changed["id"], "member": rows[1]["id"]}


def test_missing_and_changed_images_are_counted_skips(tmp_path: Path) -> None:
    run, ids = damaged_run(tmp_path)
    summary = export_run(run.options(tmp_path / "out", shard_samples=100), progress=False)
    assert summary.skipped == {"image_changed": 1, "image_missing": 2}
    assert (summary.selected, summary.exported) == (12, 9)
    stats = json.loads((tmp_path / "out" / "_export" / "shards" /
                        "shard-00000.tar.json").read_text())
    assert stats["skipped"] == {"image_changed": 1, "image_missing": 2}
    missing = stats["skipped_examples"]["image_missing"]
    assert [line.split(" ")[0] for line in missing] == sorted([ids["gone"], ids["member"]])
    assert any("'sa_9.jpg' not in" in line for line in missing)
    assert stats["skipped_examples"]["image_changed"][0].startswith(ids["changed"])
    card = (tmp_path / "out" / "README.md").read_text()
    assert "| skipped: image_changed | 1 |" in card
    assert "| skipped: image_missing | 2 |" in card
    assert "| exported samples | 9 |" in card


def test_missing_image_stops_the_export_when_asked(tmp_path: Path) -> None:
    run, ids = damaged_run(tmp_path)
    first_bad = min(ids.values())
    with pytest.raises(ExportError) as error:
        export_run(run.options(tmp_path / "out", on_missing_image="fail"), progress=False)
    message = str(error.value)
    assert f"row {first_bad} " in message
    assert message.endswith("pass --on-missing-image skip to leave such rows out")
    assert not list((tmp_path / "out").glob("*.tmp"))


def test_same_size_change_needs_sha256_verification(tmp_path: Path) -> None:
    run = build_small_run(tmp_path / "run")
    row = run.row("https://example.invalid/004.jpg")
    path = Path(row["image_ref"].removeprefix("file:"))
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF  # same length, other bytes
    path.write_bytes(bytes(data))
    by_size = export_run(run.options(tmp_path / "size"), progress=False)
    assert (by_size.exported, by_size.skipped) == (12, {})
    by_hash = export_run(run.options(tmp_path / "sha", verify="sha256"), progress=False)
    assert (by_hash.exported, by_hash.skipped) == (11, {"image_changed": 1})
    stats = json.loads((tmp_path / "sha" / "_export" / "shards" /
                        "shard-00000.tar.json").read_text())
    assert stats["skipped_examples"]["image_changed"] == [
        f"{row['id']} (laion/{row['source_key']}): bytes at {row['image_ref']} no longer "
        "match the manifest's sha256"]


def test_read_all_reads_every_reference_in_order(small_run: SmallRun) -> None:
    from export.images import ImageReader

    refs = [row.get("image_ref") for row in small_run.rows] * 5
    with ImageReader(open_tars=1, sha256=True) as reader:
        reads = list(reader.read_all(refs))
        for ref, read in zip(refs, reads, strict=True):
            if ref is None:
                assert (read.data, read.error) == (None, "row has no image_ref")
                continue
            assert read.data == reader.read(ref)
            assert read.sha256 == hashlib.sha256(read.data).hexdigest()
    assert sum(read.data is None for read in reads) == 5
