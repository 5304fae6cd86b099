"""run_job's bookkeeping without Ray (shards of zero records need no pipeline): how each
invocation ends in run.json, and that a plan that fails leaves nothing behind."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from curation.base import BaseSource, ShardSpec
from paraimage.runner import run_job
from workflows.config import JobConfig

REPO_ROOT = Path(__file__).resolve().parents[2]


class NothingToReadSource(BaseSource):
    """Two planned shards of zero records: run_job writes them without starting Ray."""

    name = "nothing"

    def plan(self) -> list[ShardSpec]:
        return [ShardSpec(f"s{i}", self.name, "/nowhere", 0) for i in range(2)]

    def read(self, shard: ShardSpec, run_id: str) -> Iterator[dict[str, Any]]:
        return iter(())


def job_config(out: Path) -> JobConfig:
    images = out / "images"
    images.mkdir(parents=True, exist_ok=True)
    return JobConfig.model_validate({
        "run": {"name": "t", "output_dir": str(out / "runs")},
        "sources": [{"kind": "folder", "path": str(images)}],
        "captioner": {"model": "llava-hf/llava-1.5-7b-hf"},
        "stats": {"enabled": False},
    })


def invocations(config: JobConfig) -> list[dict[str, Any]]:
    return json.loads((config.run.directory / "run.json").read_text())["invocations"]


KILLED_RUN = """
import os, signal, sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from test_runner import NothingToReadSource, job_config
from paraimage.runner import run_job

def die(run_dir):
    os.kill(os.getpid(), signal.SIGKILL)

run_job(job_config(Path({out!r})), NothingToReadSource(), [], argv=["killed"],
        finalizers=[die])
"""


def test_a_killed_invocation_is_marked_interrupted_by_the_next(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = KILLED_RUN.format(tests=str(Path(__file__).parent), out=str(tmp_path))
    killed = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=120)
    assert killed.returncode == -9, killed.stderr
    config = job_config(tmp_path)
    (first,) = invocations(config)
    assert (first["argv"], first["outcome"], first["ended"]) == (["killed"], "running", None)

    run_job(config, NothingToReadSource(), [], argv=["again"])
    first, second = invocations(config)
    # when it died is unknown: ended stays null, the outcome says what happened
    assert (first["argv"], first["outcome"], first["ended"]) == (
        ["killed"], "interrupted", None)
    assert (second["argv"], second["outcome"]) == (["again"], "completed")
    assert second["ended"] >= second["started"]
    assert "error" not in second
    assert ("[paraimage] 1 earlier invocation(s) ended without recording it (killed): "
            "marked interrupted in run.json") in capsys.readouterr().out


def test_a_failed_invocation_records_its_error(tmp_path: Path) -> None:
    config = job_config(tmp_path)

    def broken(run_dir: Any) -> str:
        raise RuntimeError("the funnel broke")

    with pytest.raises(RuntimeError, match="the funnel broke"):
        run_job(config, NothingToReadSource(), [], argv=["x"], finalizers=[broken])
    (failed,) = invocations(config)
    assert (failed["outcome"], failed["error"]) == ("failed", "RuntimeError: the funnel broke")
    assert failed["ended"] >= failed["started"]
    # the next invocation leaves a recorded end alone
    run_job(config, NothingToReadSource(), [], argv=["y"])
    assert [i["outcome"] for i in invocations(config)] == ["failed", "completed"]


def test_sigterm_records_the_invocation_interrupted_and_frees_the_run(tmp_path: Path) -> None:
    import os
    import signal

    from paraimage.run_record import Stopped, stop_on_sigterm
    from paraimage.rundir import RunDir

    config = job_config(tmp_path)

    def stopped_part_way(run_dir: Any) -> str:
        os.kill(os.getpid(), signal.SIGTERM)  # `ray job stop` sends SIGTERM first
        raise AssertionError("SIGTERM did not stop the run")

    with pytest.raises(Stopped, match="stopped by SIGTERM"), stop_on_sigterm():
        run_job(config, NothingToReadSource(), [], argv=["x"], finalizers=[stopped_part_way])
    (stopped,) = invocations(config)
    assert (stopped["outcome"], stopped["error"]) == ("interrupted", "stopped by SIGTERM")
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    with RunDir(config.run.directory).locked():  # the lock went with the invocation
        pass


def test_rays_sigterm_exit_is_an_interruption_too(tmp_path: Path) -> None:
    import signal

    config = job_config(tmp_path)

    def ray_stops_the_driver(run_dir: Any) -> str:
        raise SystemExit(signal.SIGTERM)  # what ray.init's SIGTERM handler does

    with pytest.raises(SystemExit):
        run_job(config, NothingToReadSource(), [], argv=["x"], finalizers=[ray_stops_the_driver])
    (stopped,) = invocations(config)
    assert (stopped["outcome"], stopped["error"]) == ("interrupted", "stopped by SIGTERM")
