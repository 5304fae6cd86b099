"""One way to Ray: a cluster only when asked, and a wrong address stops the job at once
with the key named, not minutes later with nothing said."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from paraimage.ray_session import RayAddressError, check_reachable, requested_address

REPO_ROOT = Path(__file__).resolve().parents[2]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the socket goes


def test_an_address_nothing_answers_at_is_named() -> None:
    port = closed_port()
    with pytest.raises(RayAddressError) as error:
        check_reachable(f"127.0.0.1:{port}")
    assert str(error.value) == (
        f"ray.address: nothing answers at 127.0.0.1:{port} (Connection refused); start "
        "the cluster, fix the address, or leave it unset for a local Ray")
    with pytest.raises(RayAddressError, match="'127.0.0.1:http' is not host:port"):
        check_reachable("127.0.0.1:http")


def test_ray_resolves_auto_and_client_urls_itself() -> None:
    for address in (None, "", "auto", "local", "ray://head:10001"):
        check_reachable(address)  # nothing to check here: no error


def test_an_address_that_answers_passes() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        check_reachable(f"127.0.0.1:{server.getsockname()[1]}")


def test_the_environment_asks_for_a_cluster_only_when_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert requested_address(None) is None
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.5:6379")
    assert requested_address(None) == "10.0.0.5:6379"
    assert requested_address("head:6379") == "head:6379"


def test_the_job_with_a_wrong_address_exits_2_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from workflows.recaption import main

    port = closed_port()
    started = time.monotonic()
    code = main(["--config", str(REPO_ROOT / "configs" / "demo.yaml"),
                 "--set", f"run.output_dir={tmp_path / 'runs'}",
                 "--set", f"ray.address=127.0.0.1:{port}"])
    assert code == 2
    assert capsys.readouterr().err == (
        f"error: ray.address: nothing answers at 127.0.0.1:{port} (Connection refused); "
        "start the cluster, fix the address, or leave it unset for a local Ray\n")
    assert time.monotonic() - started < 10
    assert not (tmp_path / "runs").exists()
