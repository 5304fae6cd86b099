"""Captioning with vLLM: an engine held by each actor of a Ray Data actor pool.

This module holds the synchronous engine (``vllm.LLM``) and what both engines share;
``vllm_async.py`` holds the default, vLLM's async engine with several batches in flight.

Why an actor pool around vLLM rather than a ``ray.data.llm`` processor: the
processor fails a whole batch when one request fails, and its OpenAI-style request
rows hide the finish reason and token counts we store; it also needed Ray-version-
specific workarounds to run on 2 CPU cores (see docs/design-notes.md). Holding the
engine ourselves keeps per-image failure isolation (``BaseCaptioner``), the model's own
chat template via its processor, and the same code on CPU and GPU.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from captioners.base import BaseCaptioner, CaptionerCore, Generation
from captioners.config import PromptSpec, VLLMCaptionerConfig


def build_prompt(processor: Any, prompt_text: str) -> str:
    """The model's own chat template, rendered once: one image then the instruction."""
    messages = [
        {
            "role": "user",
            "content": [{"type": "image"}, {"type": "text", "text": prompt_text}],
        }
    ]
    return processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)


class PromptCache:
    """Chat-template renderings of instructions, each rendered once."""

    def __init__(self, processor: Any) -> None:
        self.processor = processor
        self.rendered: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        if text not in self.rendered:
            self.rendered[text] = build_prompt(self.processor, text)
        return self.rendered[text]


def load_processor(config: VLLMCaptionerConfig, model_path: str) -> Any:
    """The model's processor, after the engine's environment is set (vLLM reads
    settings such as VLLM_CPU_KVCACHE_SPACE at import time)."""
    for key, value in config.env.items():
        os.environ[key] = value
    from transformers import AutoProcessor

    return AutoProcessor.from_pretrained(
        model_path, trust_remote_code=config.engine_kwargs.get("trust_remote_code", False)
    )


def engine_kwargs(config: VLLMCaptionerConfig) -> dict[str, Any]:
    """What the engine is built with, besides the model: one image per prompt, the
    sampling seed, then the user's ``engine_kwargs``."""
    return {"seed": config.sampling.seed, "limit_mm_per_prompt": {"image": 1},
            **config.engine_kwargs}


def init_vllm_captioner(
    captioner: CaptionerCore, config: VLLMCaptionerConfig, model_path: str, model_name: str
) -> Any:
    """What both vLLM captioners record and hold before their engine: the processor
    (returned), the stored identity of their captions and the prompt renderings."""
    processor = load_processor(config, model_path)
    captioner.model_name = model_name
    captioner.prompt_text = config.prompt_text
    captioner.params_json = config.sampling_params_json()
    captioner.retry_params_json = config.sampling_params_json(retry=True)
    captioner.prompt_for = PromptCache(processor)
    return processor


class VLLMCaptioner(BaseCaptioner):
    """The synchronous engine (``captioner.engine: sync``): one ``LLM.generate`` per
    batch and spec, each waiting for its slowest caption."""

    def __init__(
        self, config: VLLMCaptionerConfig, model_path: str, model_name: str,
        primary: bool = True, drop_images: bool = True,
    ) -> None:
        super().__init__(config=config, primary=primary, drop_images=drop_images)
        self.processor = init_vllm_captioner(self, config, model_path, model_name)
        import vllm

        self.prompt = self.prompt_for(self.prompt_text)
        self.llm = vllm.LLM(model=model_path, **engine_kwargs(config))
        self.sampling = vllm.SamplingParams(**config.sampling_params())
        self.retry_sampling = vllm.SamplingParams(**config.sampling_params(retry=True))

    def _prompt(self, spec: PromptSpec | None) -> str:
        return self.prompt_for(spec.prompt_text if spec else self.prompt_text)

    def generate(
        self, images: list[np.ndarray], retry: bool = False, spec: PromptSpec | None = None
    ) -> list[Generation]:
        import vllm
        from PIL import Image

        if not images:
            return []
        prompt = self._prompt(spec)
        requests = [
            {"prompt": prompt, "multi_modal_data": {"image": Image.fromarray(image)}}
            for image in images
        ]
        if spec is not None:
            sampling = vllm.SamplingParams(**spec.params_for(retry))
        else:
            sampling = self.retry_sampling if retry else self.sampling
        outputs = self.llm.generate(requests, sampling, use_tqdm=False)
        return [
            generation_of(output) for output in outputs
        ]


def generation_of(output: Any) -> Generation:
    """A finished ``vllm.RequestOutput`` as our ``Generation``."""
    completion = output.outputs[0]
    return Generation(
        text=completion.text,
        finish_reason=completion.finish_reason,
        n_tokens=len(completion.token_ids),
        n_prompt_tokens=len(output.prompt_token_ids) if output.prompt_token_ids else None,
    )
