"""An interrupted export resumes: complete shards are kept, partial ones redone, the
result is byte-identical to an uninterrupted export; a rerun with other options or
over changed rows is refused."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from export_helpers import SmallRun, build_small_run

from export import ExportError, export_run
from paraimage.shard_writer import write_manifest
from workflows.cli import main

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARDS = ["shard-00000.tar", "shard-00001.tar", "shard-00002.tar"]

# Runs the real command and SIGKILLs itself while writing the second shard, after some
# bytes of it reached the disk and the first shard was sealed (that happens on a thread
# of its own, so it is waited for): no handler, no cleanup, as a killed job leaves it.
KILLED_EXPORT = textwrap.dedent("""
    import os, signal, sys, time
    sys.path.insert(0, {root!r})
    from export import webdataset_writer
    original = webdataset_writer.write_samples
    first_shard = os.path.join(sys.argv[sys.argv.index("--out") + 1], "shard-00000.tar")
    calls = []

    def write_then_die(handle, samples):
        calls.append(1)
        if len(calls) == 2:
            handle.write(next(iter(samples)).image)
            handle.flush()
            deadline = time.monotonic() + 60
            while not os.path.exists(first_shard) and time.monotonic() < deadline:
                time.sleep(0.01)
            os.kill(os.getpid(), signal.SIGKILL)
        return original(handle, samples)

    webdataset_writer.write_samples = write_then_die
    from workflows.cli import main
    sys.exit(main(sys.argv[1:]))
""")


def shard_files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.glob("shard-*"))}


def test_deleted_shard_and_leftover_tmp_are_redone(small_run: SmallRun, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = export_run(small_run.options(out, shard_samples=4), progress=False)
    assert (first.shards, first.shards_written, first.resumed) == (3, 3, False)
    before = shard_files(out)
    kept = {name: os.stat(out / name) for name in SHARDS[:2]}
    card = (out / "README.md").read_bytes()
    (out / SHARDS[2]).unlink()
    (out / f"{SHARDS[2]}.tmp").write_bytes(b"half a tar")
    second = export_run(small_run.options(out, shard_samples=4), progress=False)
    assert (second.shards_written, second.resumed, second.exported) == (1, True, 12)
    assert shard_files(out) == before
    for name, stat in kept.items():  # complete shards are not rewritten
        assert (os.stat(out / name).st_ino, os.stat(out / name).st_mtime_ns) == (
            stat.st_ino, stat.st_mtime_ns)
    assert not list(out.rglob("*.tmp"))
    assert (out / "README.md").read_bytes() == card


def test_sigkilled_export_resumes_to_identical_shards(small_run: SmallRun,
                                                      tmp_path: Path) -> None:
    script = tmp_path / "killed_export.py"
    script.write_text(KILLED_EXPORT.format(root=str(REPO_ROOT)))
    out = tmp_path / "out"
    args = ["export", "--run", str(small_run.root), "--out", str(out),
            "--format", "webdataset", "--shard-samples", "4", "--no-progress"]
    killed = subprocess.run([sys.executable, str(script), *args], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert sorted(p.name for p in out.glob("shard-*")) == [SHARDS[0], f"{SHARDS[1]}.tmp"]
    assert not (out / "README.md").exists()
    resumed = export_run(small_run.options(out, shard_samples=4), progress=False)
    assert (resumed.shards_written, resumed.resumed, resumed.exported) == (2, True, 12)
    export_run(small_run.options(tmp_path / "clean", shard_samples=4), progress=False)
    assert shard_files(out) == shard_files(tmp_path / "clean")
    assert list(shard_files(out)) == SHARDS
    assert (out / "README.md").read_bytes() == (tmp_path / "clean" / "README.md").read_bytes()


def test_other_options_on_the_same_out_are_refused(small_run: SmallRun, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    export_run(small_run.options(out, shard_samples=4), progress=False)
    with pytest.raises(ExportError) as error:
        export_run(small_run.options(out, shard_samples=4, mix={"alt_text": 0.1,
                                                                "caption": 0.9}),
                   progress=False)
    assert str(error.value) == (
        f"{out} holds another export: mix was {{'caption': 1.0}}, now "
        "{'alt_text': 0.1, 'caption': 0.9}. Use another --out, or delete it to start over."
    )
    code = main(["export", "--run", str(small_run.root), "--out", str(out),
                 "--format", "parquet", "--shard-samples", "4", "--no-progress"])
    assert code == 2
    assert "format was 'webdataset', now 'parquet'" in capsys.readouterr().err


def test_changed_rows_are_refused(tmp_path: Path) -> None:
    run = build_small_run(tmp_path / "run")
    out = tmp_path / "out"
    export_run(run.options(out), progress=False)
    manifest = run.root / "manifests" / "laion-00000.parquet"
    rows = pq.read_table(manifest).to_pylist()
    rows[0]["caption"] = "A different caption."
    write_manifest(manifest, rows)
    with pytest.raises(ExportError, match=r"the run's selected rows changed since it was "
                       r"written \(12 rows, digest [0-9a-f]{12} then; 12 rows"):
        export_run(run.options(out), progress=False)


def test_out_with_other_files_is_refused(small_run: SmallRun, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ExportError, match="is not empty and holds no export"):
        export_run(small_run.options(out), progress=False)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
