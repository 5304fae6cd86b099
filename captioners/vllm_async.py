"""Captioning with vLLM's async engine: the engine's queue stays full across batches.

``__call__`` is a coroutine, so Ray Data runs up to ``max_concurrent_batches`` batches
in one actor at once (the actor's ``max_concurrency``). Every image of every batch in
flight, and every length variant of it, is one request in the same ``AsyncLLM``: the
engine batches them continuously, a short caption's slot goes to the next request
the moment it ends, and a batch is handed back when its own last caption is done,
while the others keep the engine busy. The synchronous engine (``vllm_backend.py``)
instead waits for the slowest caption of each batch and idles between batches.

Each request is awaited alone, so one image that fails (a bad input the processor
refuses, a request the engine aborts) becomes that row's ``error`` and its
neighbours are kept: the isolation the synchronous path gets by retrying a failed
batch in halves. QA retries, variants, finish reasons and token counts are the
synchronous path's, through ``CaptionerCore``.

What runs in this actor's process besides the event loop: vLLM's input processing
(the model's HF processor on the already-resized image, tokenising the prompt) and
detokenising; the engine core (scheduler and model) runs in its own process, started
by ``AsyncLLM``. Decoding and resizing happen before, in CPU tasks
(``captioners/prepare.py``).
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from typing import Any

import numpy as np

from captioners.base import Captioned, CaptionerCore, Generation
from captioners.config import PromptSpec, VLLMCaptionerConfig, batches_for
from captioners.vllm_backend import engine_kwargs, generation_of, init_vllm_captioner
from paraimage.batches import Batch


class AsyncVLLMCaptioner(CaptionerCore):
    def __init__(
        self, config: VLLMCaptionerConfig, model_path: str, model_name: str,
        primary: bool = True, drop_images: bool = True,
    ) -> None:
        super().__init__(config=config, primary=primary, drop_images=drop_images)
        init_vllm_captioner(self, config, model_path, model_name)
        import vllm

        self.main_params = config.sampling_params()
        self.main_retry_params = config.sampling_params(retry=True)
        from vllm.usage.usage_lib import UsageContext

        args = vllm.AsyncEngineArgs(model=model_path, **engine_kwargs(config))
        # The offline engine's context: vLLM then sizes its scheduler (max_num_seqs,
        # max_num_batched_tokens) for throughput on this device, as it does for vllm.LLM;
        # the default engine context keeps a server's small defaults (128 sequences).
        self.engine = vllm.AsyncLLMEngine.from_engine_args(
            args, usage_context=UsageContext.LLM_CLASS)
        # Ray may hand this actor config.batches_in_flight batches; work on as many as
        # keep this engine's scheduler full, and let the rest wait their turn here.
        resolved = self.engine.vllm_config.scheduler_config.max_num_seqs
        self.batch_limit = min(config.batches_in_flight, config.max_concurrent_batches
                               or batches_for(resolved, config.batch_size))
        self.batch_slots = asyncio.Semaphore(self.batch_limit)
        # Request ids must be unique within the engine; actors of one run each have one.
        self._request_ids = (f"{uuid.uuid4().hex[:12]}-{n}" for n in itertools.count())

    async def __call__(self, batch: Batch) -> Batch:
        async with self.batch_slots:
            work = self._plan(batch)
            results = await asyncio.gather(
                *(self._caption_all(work.todo, work.images, spec) for spec in work.specs)
            )
            return self._finish(work, list(results))

    async def _caption_all(
        self, rows: list[dict[str, Any]], images: list[np.ndarray], spec: PromptSpec | None
    ) -> list[Captioned]:
        """The judged result per image, as ``BaseCaptioner._caption_all``."""
        judged = self._judge(await self._generate_all(rows, images, spec, retry=False), spec)
        retry_at = self._retry_indices(judged)
        retried = await self._generate_all(
            [rows[i] for i in retry_at], [images[i] for i in retry_at], spec, retry=True
        )
        return self._with_retries(judged, retry_at, self._judge(retried, spec, retried=True))

    async def _generate_all(
        self,
        rows: list[dict[str, Any]],
        images: list[np.ndarray],
        spec: PromptSpec | None,
        retry: bool,
    ) -> list[Generation | Exception]:
        prompt = self.prompt_for(spec.prompt_text if spec else self.prompt_text)
        return list(await asyncio.gather(*(
            self._generate_one(prompt, image, self.request_params(row, spec, retry))
            for row, image in zip(rows, images, strict=True)
        )))

    def request_params(
        self, row: dict[str, Any], spec: PromptSpec | None, retry: bool
    ) -> dict[str, Any]:
        """``vllm.SamplingParams`` keywords of one row's request (a benchmark sets
        per-row lengths here)."""
        if spec is not None:
            return spec.params_for(retry)
        return self.main_retry_params if retry else self.main_params

    async def _generate_one(
        self, prompt: str, image: np.ndarray, params: dict[str, Any]
    ) -> Generation | Exception:
        import vllm
        from PIL import Image
        from vllm.sampling_params import RequestOutputKind

        final = None
        try:
            request = {"prompt": prompt, "multi_modal_data": {"image": Image.fromarray(image)}}
            # One output per request, at its end: streaming every token to every request's
            # generator costs this process a wake-up per token per request.
            sampling = vllm.SamplingParams(**params, output_kind=RequestOutputKind.FINAL_ONLY)
            async for output in self.engine.generate(
                request, sampling, request_id=next(self._request_ids)
            ):
                final = output
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - this image's failure is its row's alone
            self.stats["request_failed"] += 1
            return exc
        if final is None or not final.finished:
            return RuntimeError("the engine ended the request without a final output")
        return generation_of(final)

    def __del__(self) -> None:
        engine = getattr(self, "engine", None)
        if engine is not None:  # the engine core is a child process: end it with us
            engine.shutdown()
