"""One invocation per run directory: a second is refused while the first lives, and a
holder that died (SIGKILL) never blocks the next one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from paraimage.rundir import RunDir, RunDirBusyError

REPO_ROOT = Path(__file__).resolve().parents[2]

HOLD = """
import sys, time
from pathlib import Path
from paraimage.rundir import RunDir
with RunDir(Path({root!r})).locked():
    print("held", flush=True)
    time.sleep(600)
"""


def hold_in_another_process(root: Path) -> subprocess.Popen:
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(HOLD.format(root=str(root)))],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True,
        # what Ray gives the driver of a `ray job submit`
        env={**os.environ, "RAY_JOB_CONFIG_JSON_ENV_VAR": json.dumps(
            {"runtime_env": {}, "metadata": {"job_submission_id": "raysubmit_test123"}})},
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def test_a_second_invocation_is_refused_naming_the_holder(tmp_path: Path) -> None:
    root = tmp_path / "run"
    holder = hold_in_another_process(root)
    try:
        with pytest.raises(RunDirBusyError) as refused, RunDir(root).locked():
            pass
    finally:
        holder.kill()
        holder.wait()
    message = str(refused.value)
    assert message.startswith(f"{root} is in use by another run (pid {holder.pid} on ")
    assert ", job raysubmit_test123, since 20" in message
    assert message.endswith("then run the same command again to resume")


def test_a_killed_holder_does_not_block_the_next_invocation(tmp_path: Path) -> None:
    root = tmp_path / "run"
    holder = hold_in_another_process(root)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    started = time.monotonic()
    with RunDir(root).locked():
        assert (root / "run.lock.json").exists()
    assert time.monotonic() - started < 2  # no waiting for a stale lock to expire
    assert not (root / "run.lock.json").exists()


def test_the_lock_is_reentrant_in_one_process_and_leaves_no_empty_directory(
    tmp_path: Path,
) -> None:
    root = tmp_path / "run"
    with RunDir(root).locked(), RunDir(root).locked():  # the CLI, then run_job
        assert root.is_dir()
    # nothing but the lock was made (planning failed): no half-made run directory
    assert not root.exists()
    root.mkdir()
    (root / "config.yaml").write_text("x")
    with RunDir(root).locked():
        pass
    assert sorted(p.name for p in root.iterdir()) == ["config.yaml", "run.lock"]


def test_the_job_refuses_a_busy_run_directory_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from workflows.recaption import main

    images = tmp_path / "images"
    images.mkdir()
    config = tmp_path / "job.yaml"
    config.write_text(textwrap.dedent(f"""
        run: {{name: busy, output_dir: {tmp_path / 'runs'}}}
        sources: [{{kind: folder, path: {images}}}]
        captioner: {{model: llava-hf/llava-1.5-7b-hf}}
    """))
    holder = hold_in_another_process(tmp_path / "runs" / "busy")
    try:
        code = main(["--config", str(config)])
        # refused before any work: no plan, no config snapshot, no logs
        left = sorted(p.name for p in (tmp_path / "runs" / "busy").iterdir())
    finally:
        holder.kill()
        holder.wait()
    assert code == 2
    assert left == ["run.lock", "run.lock.json"]  # the holder's
    err = capsys.readouterr().err
    assert err.startswith(f"error: {tmp_path / 'runs' / 'busy'} is in use by another run "
                          f"(pid {holder.pid} on ")
