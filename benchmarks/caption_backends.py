"""Caption backends on the same images and tiny model: images/s of each, and the openai
backend's overhead against calling the same server directly.

* ``vllm``: ``VLLMCaptioner`` (an in-process engine, as one actor of the job holds it);
* ``transformers``: ``TransformersCaptioner`` (processor + ``generate``, batched);
* ``openai``: ``OpenAICaptioner`` against ``python -m vllm.entrypoints.openai.api_server``
  serving the same model on 127.0.0.1;
* ``direct``: the same requests (same base64 JPEGs, prompt, sampling, concurrency) sent
  with a bare ``openai.AsyncOpenAI`` client to that server, in the same run.

Each backend captions the same prepared images (the prepare stage's resize) through
its ``__call__`` on an Arrow batch, i.e. with QA and bookkeeping, the way the job runs
it. Engine start-up is excluded; medians over --repeats. The last line is
``RATIO openai_backend_vs_direct=<backend images/s / direct images/s>``.

    .venv/bin/python benchmarks/caption_backends.py [--images 32] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from captioners.config import (  # noqa: E402
    OpenAICaptionerConfig,
    TransformersCaptionerConfig,
    VLLMCaptionerConfig,
)
from captioners.openai_backend import OpenAICaptioner, data_url  # noqa: E402
from captioners.prepare import CAPTION_IMAGE, CAPTION_IMAGE_SHAPE, resize_for_model  # noqa: E402
from captioners.tiny_llava import build_tiny_llava  # noqa: E402
from captioners.transformers_backend import TransformersCaptioner  # noqa: E402
from paraimage.batches import rows_to_batch  # noqa: E402

CPU_ENV = {"VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_ENABLE_V1_MULTIPROCESSING": "0"}
SERVED = "tiny-llava"
TARGET_WORDS = 20


def prepared_rows(count: int, image_size: int) -> list[dict]:
    from PIL import Image

    from demo.sample_photos import PHOTOS

    photos = list(PHOTOS.values())
    rows = []
    for index in range(count):
        buffer = io.BytesIO()
        Image.fromarray(photos[index % len(photos)]()).save(buffer, "JPEG", quality=90)
        pixels = resize_for_model(buffer.getvalue(), image_size, 10**8)
        rows.append({"id": str(index), "status": "kept", CAPTION_IMAGE: pixels.tobytes(),
                     CAPTION_IMAGE_SHAPE: list(pixels.shape)})
    return rows


def timed(captioner, rows: list[dict], batch_size: int) -> float:
    started = time.perf_counter()
    for start in range(0, len(rows), batch_size):
        out = captioner(rows_to_batch(rows[start : start + batch_size])).to_pylist()
        failed = [row for row in out if row["status"] != "kept"]
        if failed:
            raise SystemExit(f"{type(captioner).__name__}: {failed[0].get('error')}")
    return len(rows) / (time.perf_counter() - started)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(model: Path, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    with open(log, "w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(model),
             "--served-model-name", SERVED, "--dtype", "float32", "--enforce-eager",
             "--max-model-len", "2048", "--host", "127.0.0.1", "--port", str(port),
             # both sides send the same images: a prefix cache would favour the second
             "--no-enable-prefix-caching"],
            env={**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1"}, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(log.read_text()[-3000:])
        try:
            urllib.request.urlopen(f"{base}/models", timeout=2).close()
            return server, base
        except OSError:
            time.sleep(2)
    raise SystemExit("the vLLM server did not start")


def direct_rate(config: OpenAICaptionerConfig, rows: list[dict], batch_size: int) -> float:
    """The bare client: same payloads and concurrency, no bookkeeping."""
    import numpy as np
    import openai

    params = config.sampling_params()
    images = [np.frombuffer(r[CAPTION_IMAGE], np.uint8).reshape(r[CAPTION_IMAGE_SHAPE])
              for r in rows]

    async def batch(chunk: list) -> None:
        semaphore = asyncio.Semaphore(config.max_concurrency)
        async with openai.AsyncOpenAI(base_url=config.base_url, api_key="none") as client:
            async def one(image) -> None:
                async with semaphore:
                    await client.chat.completions.create(
                        model=config.model,
                        messages=[{"role": "user", "content": [
                            {"type": "image_url",
                             "image_url": {"url": data_url(image, config.jpeg_quality)}},
                            {"type": "text", "text": config.prompt_text}]}],
                        max_tokens=params["max_tokens"], temperature=params["temperature"],
                        top_p=params["top_p"], seed=params["seed"],
                        extra_body={"repetition_penalty": params["repetition_penalty"]},
                    )
            await asyncio.gather(*(one(image) for image in chunk))

    started = time.perf_counter()
    for start in range(0, len(images), batch_size):
        asyncio.run(batch(images[start : start + batch_size]))
    return len(images) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--skip", nargs="*", default=[], choices=["vllm", "transformers"])
    args = parser.parse_args()
    os.environ.update(CPU_ENV)
    with tempfile.TemporaryDirectory() as tmp:
        model = build_tiny_llava(Path(tmp) / "tiny-llava")
        rows = prepared_rows(args.images, args.image_size)
        rates: dict[str, list[float]] = {}
        common = {"model": str(model), "target_words": TARGET_WORDS,
                  "batch_size": args.batch_size}

        server, base = start_server(model, Path(tmp) / "server.log")
        try:
            config = OpenAICaptionerConfig(backend="openai", base_url=base, model=SERVED,
                                           target_words=TARGET_WORDS,
                                           max_concurrency=args.batch_size)
            backend = OpenAICaptioner(config, SERVED, SERVED)
            os.environ.setdefault("OPENAI_API_KEY", "none")
            timed(backend, rows[: args.batch_size], args.batch_size)  # warm the server
            sides = {"direct": lambda: direct_rate(config, rows, args.batch_size),
                     "openai": lambda: timed(backend, rows, args.batch_size)}
            for repeat in range(args.repeats):
                # alternate which goes first, so drift on a noisy machine (and anything
                # the server keeps warm) favours neither side
                order = ["direct", "openai"] if repeat % 2 == 0 else ["openai", "direct"]
                for side in order:
                    rates.setdefault(side, []).append(sides[side]())
                print(f"repeat {repeat}: direct {rates['direct'][-1]:.2f} images/s, "
                      f"openai backend {rates['openai'][-1]:.2f} images/s", flush=True)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=120)

        if "transformers" not in args.skip:
            captioner = TransformersCaptioner(
                TransformersCaptionerConfig(backend="transformers", dtype="float32",
                                            device="cpu", **common), str(model), "tiny")
            rates["transformers"] = [timed(captioner, rows, args.batch_size)
                                     for _ in range(args.repeats)]
            del captioner
        if "vllm" not in args.skip:
            from captioners.vllm_backend import VLLMCaptioner

            captioner = VLLMCaptioner(VLLMCaptionerConfig(
                **common, engine_kwargs={"dtype": "float32", "enforce_eager": True,
                                         "max_model_len": 2048}, env=CPU_ENV,
            ), str(model), "tiny")
            rates["vllm"] = [timed(captioner, rows, args.batch_size)
                             for _ in range(args.repeats)]
    medians = {name: statistics.median(values) for name, values in rates.items()}
    for name, value in medians.items():
        print(f"median {name:13s} {value:7.2f} images/s")
    print(f"RATIO openai_backend_vs_direct={medians['openai'] / medians['direct']:.3f}")


if __name__ == "__main__":
    main()
