"""A run on a real multi-node Ray cluster (``ray.cluster_utils.Cluster``: a head with no
CPUs, so every task and actor runs on a worker node) survives a worker node killed
mid-run, and a driver stopped under ``ray job submit`` resumes when the same job is
submitted again; a second job on a busy run directory is refused. Each run's manifests
equal an uninterrupted run's, captions included (greedy sampling)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cluster_helpers import (
    REPO_ROOT,
    WORKER_CPUS,
    job_env,
    job_yaml,
    manifest_rows,
    node_running,
    recaption_command,
    run_to_end,
    wait_for_manifests,
)

pytestmark = pytest.mark.slow

N_RECORDS = 15
RUN_TIMEOUT_S = 420


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def cluster() -> Iterator[object]:
    from ray.cluster_utils import Cluster

    dashboard = free_port()
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 0, "include_dashboard": True, "dashboard_host": "127.0.0.1",
        "dashboard_port": dashboard,
        # the job agent's port, not Ray's default 52365: another Ray on the machine (a
        # benchmark, a developer's cluster) holds that one, and then no job is accepted
        "dashboard_agent_listen_port": free_port(),
    })
    cluster.dashboard_url = f"http://127.0.0.1:{dashboard}"
    for _ in range(2):
        cluster.add_node(num_cpus=WORKER_CPUS, dashboard_agent_listen_port=free_port())
    cluster.wait_for_nodes()
    try:
        yield cluster
    finally:
        cluster.shutdown()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, tiny_llava: Path) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("faults")
    return {"root": root, "photos": root / "photos", "model": tiny_llava}


def config_for(files: dict[str, Path], name: str) -> tuple[Path, Path]:
    """The job's config file and its run directory."""
    out = files["root"] / name
    out.mkdir()
    return job_yaml(out / "job.json", out, files["photos"], files["model"]), out / "faults"


@pytest.fixture(scope="module")
def uninterrupted(cluster: object, files: dict[str, Path]) -> list[tuple]:
    config, run_dir = config_for(files, "uninterrupted")
    result = run_to_end(recaption_command(config, "--set", f"ray.address={cluster.address}"),
                        job_env(), RUN_TIMEOUT_S)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = manifest_rows(run_dir)
    assert len(rows) == N_RECORDS
    assert sum(1 for row in rows if row[4] == "kept" and row[10]) >= 5  # captioned
    return rows


def test_a_worker_node_killed_mid_run_changes_nothing(
    cluster: object, files: dict[str, Path], uninterrupted: list[tuple]
) -> None:
    config, run_dir = config_for(files, "node-lost")
    process = subprocess.Popen(
        recaption_command(config, "--set", f"ray.address={cluster.address}"),
        cwd=REPO_ROOT, env=job_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )
    try:
        done = wait_for_manifests(run_dir, 3, process, RUN_TIMEOUT_S)
        # SIGKILL of the node hosting the caption actor (its raylet and workers), then
        # a replacement node, as an autoscaler would add after a spot preemption
        cluster.remove_node(node_running(cluster, "MapWorker(MapBatches(Transformers"),
                            allow_graceful=False)
        cluster.add_node(num_cpus=WORKER_CPUS, dashboard_agent_listen_port=free_port())
        stdout, stderr = process.communicate(timeout=RUN_TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
    assert done < N_RECORDS
    assert process.returncode == 0, stdout[-3000:] + stderr[-3000:]
    assert manifest_rows(run_dir) == uninterrupted  # nothing lost, doubled or changed
    (invocation,) = json.loads((run_dir / "run.json").read_text())["invocations"]
    recovered = invocation["recovered"]
    assert invocation["outcome"] == "completed"
    assert len(recovered["nodes_lost"]) == 1
    assert recovered["tasks_retried"] > 0
    assert "1 node(s) lost during the run (" in stdout
    assert list(run_dir.glob("manifests/*.tmp")) == []


def job_status(client: object, job_id: str, until: set[str], timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = str(client.get_job_status(job_id))
        if status.rsplit(".", 1)[-1] in until:
            return status.rsplit(".", 1)[-1]
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} not {until} after {timeout_s} s")


def submit(client: object, **job: object) -> str:
    """``submit_job``, waiting for the head's job agent: it comes up some seconds after
    the dashboard answers ("No available agent to submit job, please try again")."""
    deadline = time.monotonic() + 120
    while True:
        try:
            return client.submit_job(**job)
        except RuntimeError as error:
            if "No available agent" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(1)


def test_a_stopped_driver_resumes_on_resubmit_and_a_second_job_is_refused(
    cluster: object, files: dict[str, Path], uninterrupted: list[tuple]
) -> None:
    from ray.job_submission import JobSubmissionClient

    config, run_dir = config_for(files, "driver-lost")
    client = JobSubmissionClient(cluster.dashboard_url)
    entrypoint = f"cd {REPO_ROOT} && {sys.executable} workflows/recaption.py --config {config}"
    runtime_env = {"env_vars": {"HF_HUB_OFFLINE": "1", "RAY_DISABLE_USAGE_STATS": "1"}}
    first = submit(client, entrypoint=entrypoint, runtime_env=runtime_env)
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while not (run_dir / "run.lock.json").exists():  # the first job holds the run
        assert time.monotonic() < deadline, client.get_job_logs(first)[-3000:]
        time.sleep(0.1)

    second = submit(client, entrypoint=entrypoint, runtime_env=runtime_env)
    assert job_status(client, second, {"FAILED", "SUCCEEDED"}, 120) == "FAILED"
    refused = client.get_job_logs(second)
    assert f"{run_dir} is in use by another run (pid " in refused
    assert f", job {first}, since " in refused

    wait_for_manifests(run_dir, 1, None, RUN_TIMEOUT_S)
    assert str(client.get_job_status(first)).endswith("RUNNING")
    client.stop_job(first)
    assert job_status(client, first, {"STOPPED", "FAILED", "SUCCEEDED"}, 120) == "STOPPED"
    complete_at_stop = len(list(run_dir.glob("manifests/*.parquet")))
    assert 0 < complete_at_stop < N_RECORDS

    third = submit(client, entrypoint=entrypoint, runtime_env=runtime_env)
    status = job_status(client, third, {"FAILED", "SUCCEEDED", "STOPPED"}, RUN_TIMEOUT_S)
    logs = client.get_job_logs(third)
    assert status == "SUCCEEDED", logs[-4000:]
    assert (f"{complete_at_stop} complete, {N_RECORDS - complete_at_stop} to do") in logs
    assert manifest_rows(run_dir) == uninterrupted
    stopped, resumed = json.loads((run_dir / "run.json").read_text())["invocations"]
    assert (stopped["outcome"], stopped.get("error")) == ("interrupted", "stopped by SIGTERM")
    assert resumed["outcome"] == "completed"
    assert list(run_dir.glob("manifests/*.tmp")) == []
    assert not any(run_dir.glob("spill/*"))
