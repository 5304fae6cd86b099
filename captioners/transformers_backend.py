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
from captioners.cogvlm_chat import CogVLMChat, uses_cogvlm_interface
from captioners.config import PromptSpec, TransformersCaptionerConfig
from captioners.vllm_backend import build_prompt

_DTYPES = {"float32": "float32", "bfloat16": "bfloat16", "float16": "float16"}


def pick_device(requested: str) -> str:
    import torch

    if requested != "auto":
        return requested
    return "cuda" if torch.cuda.is_available() else "cpu"


class TransformersCaptioner(BaseCaptioner):
    def __init__(
        self, config: TransformersCaptionerConfig, model_path: str, model_name: str,
        primary: bool = True, drop_images: bool = True,
    ) -> None:
        super().__init__(config=config, primary=primary, drop_images=drop_images)
        import torch

        self.torch = torch
        self.device = pick_device(config.device)
        dtype: Any = getattr(torch, _DTYPES[config.dtype]) if config.dtype != "auto" else "auto"
        chat_api = config.chat_api
        if chat_api == "auto":
            chat_api = "cogvlm" if uses_cogvlm_interface(model_path) else "processor"
        self.cogvlm: CogVLMChat | None = None
        if chat_api == "cogvlm":
            if not config.trust_remote_code:
                raise ValueError("CogVLM-style models run their own code: set "
                                 "captioner.trust_remote_code: true")
            self.cogvlm = CogVLMChat(model_path, config.tokenizer, dtype, self.device,
                                     config.template_version)
            self.model = self.cogvlm.model
            tokenizer = self.cogvlm.tokenizer
            self.processor = tokenizer  # decoding only
            self.pad_id = self.cogvlm.pad_id
            self.eos_ids = self._eos_ids(tokenizer)
        else:
            self._load_with_processor(config, model_path, dtype)
        self.model_name = model_name
        self.prompt_text = config.prompt_text
        # CogVLM's code renders its template itself, per sample: keep the query as is
        self.prompt = (self.prompt_text if self.cogvlm
                       else build_prompt(self.processor, self.prompt_text))
        self.prompts = {self.prompt_text: self.prompt}
        self.params = config.sampling_params()
        self.retry_params = config.sampling_params(retry=True)
        self.params_json = config.sampling_params_json()
        self.retry_params_json = config.sampling_params_json(retry=True)

    def _load_with_processor(
        self, config: TransformersCaptionerConfig, model_path: str, dtype: Any
    ) -> None:
        from transformers import AutoModelForImageTextToText, AutoProcessor

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

    def _prompt(self, spec: PromptSpec | None) -> str:
        text = spec.prompt_text if spec else self.prompt_text
        if text not in self.prompts:
            self.prompts[text] = text if self.cogvlm else build_prompt(self.processor, text)
        return self.prompts[text]

    def generate(
        self, images: list[np.ndarray], retry: bool = False, spec: PromptSpec | None = None
    ) -> list[Generation]:
        from PIL import Image

        if spec is not None:
            params = spec.params_for(retry)
        else:
            params = self.retry_params if retry else self.params
        self.torch.manual_seed(params["seed"])
        pictures = [Image.fromarray(image) for image in images]
        if self.cogvlm is not None:
            inputs = self.cogvlm.inputs(pictures, self._prompt(spec))
        else:
            inputs = self.processor(
                images=pictures,
                text=[self._prompt(spec)] * len(images),
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
