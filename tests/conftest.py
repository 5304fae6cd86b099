"""Shared fixtures: a tiny random-weight LLaVA, real photographs, a local HTTP server,
and an offline env."""

from __future__ import annotations

import functools
import io
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

# OpenBLAS's threads spin while they wait for work. With a second process busy on these
# 2-core machines (Ray workers, a subprocess job, another test run), the spaCy tagger's
# numpy matmuls (stats/text_stats.py) then crawl: one test took 105 s instead of 5. One
# BLAS thread per process; set before numpy loads OpenBLAS, which reads it only then.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

if TYPE_CHECKING:
    from demo.local_server import BackgroundHTTPServer

# Tests never reach a model hub, even by accident.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]
TESTS_DIR = REPO_ROOT / "tests"

# `pytest -m "not slow"` is the inner loop; CI runs everything. Most slow tests carry
# their own mark (whole jobs, vLLM engines and servers, Ray, streaming, real-model
# generation); the browser tests and the PostgreSQL server's are marked here by path.
SLOW_PATHS = ("annotation_tool/e2e/", "annotation_tool/postgresql/",
              "workflows/runview/test_report_browser.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(TESTS_DIR) and (
            item.path.relative_to(TESTS_DIR).as_posix().startswith(SLOW_PATHS)
        ):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def paraimage_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private PARAIMAGE_CACHE so the offline fallback builds its model here."""
    cache = tmp_path_factory.mktemp("paraimage-cache")
    os.environ["PARAIMAGE_CACHE"] = str(cache)
    return cache


@pytest.fixture(scope="session")
def tiny_llava(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from captioners.tiny_llava import build_tiny_llava

    return build_tiny_llava(tmp_path_factory.mktemp("models") / "tiny-llava")


@pytest.fixture
def http_server() -> Iterator[Callable[..., BackgroundHTTPServer]]:
    """``http_server(handler)`` starts a server on 127.0.0.1 for this test, with
    ``directory=`` for a handler that serves a folder (``SimpleHTTPRequestHandler`` and
    its subclasses); each is stopped after the test. Tests never reach the network."""
    from demo.local_server import BackgroundHTTPServer

    started: list[BackgroundHTTPServer] = []

    def start(handler: type, directory: Path | None = None) -> BackgroundHTTPServer:
        factory = handler if directory is None else functools.partial(
            handler, directory=str(directory))
        started.append(BackgroundHTTPServer(factory))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def jpeg_bytes(array: np.ndarray, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def astronaut_jpeg() -> bytes:
    import skimage.data

    return jpeg_bytes(skimage.data.astronaut())
