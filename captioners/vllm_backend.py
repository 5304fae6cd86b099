"""Captioning with vLLM: an engine held by each actor of a Ray Data actor pool.

Why an actor pool around ``vllm.LLM`` rather than a ``ray.data.llm`` processor: the
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

from captioners.base import BaseCaptioner, Generation
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


class VLLMCaptioner(BaseCaptioner):
    def __init__(
        self, config: VLLMCaptionerConfig, model_path: str, model_name: str,
        primary: bool = True, drop_images: bool = True,
    ) -> None:
        super().__init__(config=config, primary=primary, drop_images=drop_images)
        # Engine settings such as VLLM_CPU_KVCACHE_SPACE are read at import time.
        for key, value in config.env.items():
            os.environ[key] = value
        import vllm
        from transformers import AutoProcessor

        processor = AutoProcessor.from_pretrained(
            model_path, trust_remote_code=config.engine_kwargs.get("trust_remote_code", False)
        )
        self.model_name = model_name
        self.prompt_text = config.prompt_text
        self.params_json = config.sampling_params_json()
        self.retry_params_json = config.sampling_params_json(retry=True)
        self.processor = processor
        self.prompt = build_prompt(processor, self.prompt_text)
        self.prompts = {self.prompt_text: self.prompt}
        engine_kwargs = {"limit_mm_per_prompt": {"image": 1}, **config.engine_kwargs}
        self.llm = vllm.LLM(model=model_path, seed=config.sampling.seed, **engine_kwargs)
        self.sampling = vllm.SamplingParams(**config.sampling_params())
        self.retry_sampling = vllm.SamplingParams(**config.sampling_params(retry=True))

    def _prompt(self, spec: PromptSpec | None) -> str:
        text = spec.prompt_text if spec else self.prompt_text
        if text not in self.prompts:
            self.prompts[text] = build_prompt(self.processor, text)
        return self.prompts[text]

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
            Generation(
                text=output.outputs[0].text,
                finish_reason=output.outputs[0].finish_reason,
                n_tokens=len(output.outputs[0].token_ids),
            )
            for output in outputs
        ]
