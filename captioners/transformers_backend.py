"""Captioning with Hugging Face transformers: any VLM through its processor and
``generate``, batched, on GPU or CPU.

For models vLLM does not serve (CogVLM, CogVLM2, research checkpoints) and for
reference runs. The prompt is the model's own chat template rendered by its processor,
as in the vLLM backend; ``trust_remote_code`` admits repositories that ship their own
modelling and processing code.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from captioners.base import BaseCaptioner, Generation
from captioners.config import TransformersCaptionerConfig
from captioners.vllm_backend import build_prompt

_DTYPES = {"float32": "float32", "bfloat16": "bfloat16", "float16": "float16"}


def pick_device(requested: str) -> str:
    import torch

    if requested != "auto":
        return requested
    return "cuda" if torch.cuda.is_available() else "cpu"


class TransformersCaptioner(BaseCaptioner):
    def __init__(
        self, config: TransformersCaptionerConfig, model_path: str, model_name: str
    ) -> None:
        super().__init__(qa=config.qa, target_words=config.target_words)
        import torch
        from transformers import AutoModelForImageTextToText, AutoProcessor

        self.torch = torch
        self.device = pick_device(config.device)
        dtype: Any = getattr(torch, _DTYPES[config.dtype]) if config.dtype != "auto" else "auto"
        self.processor = AutoProcessor.from_pretrained(
            model_path, trust_remote_code=config.trust_remote_code
        )
        tokenizer = getattr(self.processor, "tokenizer", self.processor)
        tokenizer.padding_side = "left"  # decoder-only batches generate from the right end
        self.pad_id = tokenizer.pad_token_id
        self.eos_ids = self._eos_ids(tokenizer)
        kwargs: dict[str, Any] = {"dtype": dtype, "trust_remote_code": config.trust_remote_code}
        if config.attn_implementation:
            kwargs["attn_implementation"] = config.attn_implementation
        self.model = (
            AutoModelForImageTextToText.from_pretrained(model_path, **kwargs)
            .to(self.device)
            .eval()
        )
        self.model_name = model_name
        self.prompt_text = config.prompt_text
        self.prompt = build_prompt(self.processor, self.prompt_text)
        self.params = config.sampling_params()
        self.retry_params = config.sampling_params(retry=True)
        self.params_json = config.sampling_params_json()
        self.retry_params_json = config.sampling_params_json(retry=True)

    @staticmethod
    def _eos_ids(tokenizer: Any) -> set[int]:
        eos = tokenizer.eos_token_id
        return set(eos) if isinstance(eos, list) else {eos} if eos is not None else set()

    def _generate_kwargs(self, params: dict[str, Any]) -> dict[str, Any]:
        sampled = params["temperature"] > 0
        kwargs: dict[str, Any] = {
            "max_new_tokens": params["max_tokens"],
            "do_sample": sampled,
            "repetition_penalty": params["repetition_penalty"],
            "pad_token_id": self.pad_id,
        }
        if sampled:
            kwargs.update(temperature=params["temperature"], top_p=params["top_p"])
        return kwargs

    def generate(self, images: list[np.ndarray], retry: bool = False) -> list[Generation]:
        from PIL import Image

        params = self.retry_params if retry else self.params
        self.torch.manual_seed(params["seed"])
        inputs = self.processor(
            images=[Image.fromarray(image) for image in images],
            text=[self.prompt] * len(images),
            return_tensors="pt",
            padding=True,
        ).to(self.device)
        with self.torch.inference_mode():
            output = self.model.generate(**inputs, **self._generate_kwargs(params))
        new_tokens = output[:, inputs["input_ids"].shape[1] :].tolist()
        generations = []
        for tokens in new_tokens:
            stop = next((i for i, t in enumerate(tokens) if t in self.eos_ids), None)
            kept = tokens[:stop] if stop is not None else tokens
            kept = [t for t in kept if t != self.pad_id]
            generations.append(
                Generation(
                    text=self.processor.decode(kept, skip_special_tokens=True),
                    finish_reason="stop" if stop is not None else "length",
                    n_tokens=len(kept) + (1 if stop is not None else 0),
                )
            )
        return generations
