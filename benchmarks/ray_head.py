"""A local Ray cluster for benchmarks whose drivers come and go, as jobs do on a cluster:
``ray start --head`` in its own session, shared by the benchmark's drivers."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_ray_head(cpus: int) -> tuple[subprocess.Popen, str]:
    """Starts the head and waits until a driver can connect; (process, address).

    Ray 2.60 clusters started with ``ray start`` authenticate drivers by token: the head
    and this process (and its children, through the environment) share one.
    """
    token = Path(tempfile.mkdtemp(prefix="ray-token-")) / "token"
    token.write_text(secrets.token_hex(32))
    os.environ.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(token))
    port = free_port()
    head = subprocess.Popen(
        [str(Path(sys.executable).parent / "ray"), "start", "--head", "--block",
         "--num-cpus", str(cpus), "--port", str(port), "--include-dashboard", "false",
         "--disable-usage-stats", "--temp-dir", tempfile.mkdtemp(prefix="ray-", dir="/tmp")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    address = f"127.0.0.1:{port}"
    import ray

    for _ in range(120):
        try:
            ray.init(address=address, log_to_driver=False)
            ray.shutdown()
            return head, address
        except (ConnectionError, RuntimeError):
            time.sleep(1)
    os.killpg(head.pid, signal.SIGKILL)
    raise SystemExit("ray start --head did not come up")


@contextlib.contextmanager
def ray_head(cpus: int) -> Iterator[str]:
    """A running head for the block; yields its address."""
    head, address = start_ray_head(cpus)
    try:
        yield address
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        head.wait(timeout=60)
