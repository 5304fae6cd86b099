"""A throwaway PostgreSQL server for the review tool's tests, and a fresh database per
test: the same fixtures as the SQLite suite with ``settings`` pointing at PostgreSQL.

The server is Debian's (scripts/setup_test_system.sh installs it); initdb refuses to run
as root, so as root the cluster is created and run as the ``postgres`` user. It listens
on a unix socket in a private folder only.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from annotation_tool.migrate import upgrade
from annotation_tool.settings import Settings

_counter = itertools.count()


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    assert found, "PostgreSQL server binaries missing: run scripts/setup_test_system.sh"
    return Path(found[-1]).parent


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[tuple[str, int]]:
    root = Path(tempfile.mkdtemp(prefix="pg-", dir="/tmp"))  # socket paths must be short
    data, socket_dir = root / "data", root / "sock"
    socket_dir.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(socket_dir, "postgres")
    pg_bin = _pg_bin()
    subprocess.run(
        _as_postgres([str(pg_bin / "initdb"), "-D", str(data), "-U", "postgres",
                      "--auth=trust", "--no-sync"]),
        check=True, capture_output=True,
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    options = f"-p {port} -k {socket_dir} -c listen_addresses='' -c fsync=off"
    subprocess.run(
        _as_postgres([str(pg_bin / "pg_ctl"), "-D", str(data), "-o", options,
                      "-l", str(root / "server.log"), "-w", "start"]),
        check=True, capture_output=True,
    )
    try:
        yield str(socket_dir), port
    finally:
        subprocess.run(
            _as_postgres([str(pg_bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


def database_url(server: tuple[str, int], name: str) -> str:
    socket_dir, port = server
    return f"postgresql+psycopg://postgres@/{name}?host={socket_dir}&port={port}"


@pytest.fixture
def fresh_database(postgres_server: tuple[str, int]) -> str:
    socket_dir, port = postgres_server
    name = f"review_{next(_counter)}"
    with psycopg.connect(host=socket_dir, port=port, user="postgres", dbname="postgres",
                         autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = database_url(postgres_server, name)
    upgrade(url)
    return url


@pytest.fixture
def settings(tmp_path: Path, fresh_database: str, image_dir: Path) -> Settings:
    return Settings(
        database_url=fresh_database,
        image_roots=(image_dir,),
        thumbnail_dir=tmp_path / "thumbs",
        manifest_roots=(tmp_path,),
        lock_ttl_s=60,
    )
