"""CogVLM / CogVLM2 through transformers: their remote code's own prompt building.

CogVLM (the ParaDiffusion paper's captioner) ships its modelling code in its
repository and has no processor or chat template. Its model object builds one
sample's inputs itself (``build_conversation_input_ids``: the "chat" template, vision
token types, pixel tensors); this module batches those samples (left padding, as
decoder-only generation needs) for ``model.generate``.

CogVLM v1 (``THUDM/cogvlm-chat-hf``) takes its tokenizer from another repository
(``lmsys/vicuna-7b-v1.5``): set ``captioner.tokenizer``. CogVLM2 ships its own.
"""

from __future__ import annotations

import json
from typing import Any

COGVLM_AUTO_CLASS = "AutoModelForCausalLM"
PROCESSOR_AUTO_CLASSES = ("AutoModelForImageTextToText", "AutoModelForVision2Seq",
                          "AutoProcessor")


def read_model_config(model_path: str) -> dict[str, Any]:
    """``config.json`` of a local folder or a cached hub repository, without running
    any of its code."""
    from transformers.utils import cached_file

    path = cached_file(model_path, "config.json")
    with open(path) as handle:
        return json.load(handle)


def uses_cogvlm_interface(model_path: str) -> bool:
    """A remote-code causal LM without a processor class: CogVLM's shape."""
    auto_map = read_model_config(model_path).get("auto_map") or {}
    return COGVLM_AUTO_CLASS in auto_map and not any(
        name in auto_map for name in PROCESSOR_AUTO_CLASSES
    )


def cogvlm_image_size(model_path: str) -> int | None:
    config = read_model_config(model_path)
    vision = config.get("vision_config") or {}
    size = vision.get("image_size") or config.get("image_size")
    return int(size) if size else None


class CogVLMChat:
    """Loads a CogVLM-interface model and turns (images, query) into batched inputs."""

    def __init__(self, model_path: str, tokenizer_path: str | None, dtype: Any, device: str,
                 template_version: str) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch = torch
        self.device = device
        self.dtype = dtype if dtype != "auto" else torch.float32
        self.template_version = template_version
        self.tokenizer = AutoTokenizer.from_pretrained(
            tokenizer_path or model_path, trust_remote_code=True
        )
        self.model = (
            AutoModelForCausalLM.from_pretrained(model_path, dtype=self.dtype,
                                                 trust_remote_code=True)
            .to(device)
            .eval()
        )
        if not hasattr(self.model, "build_conversation_input_ids"):
            raise ValueError(
                f"{model_path} has no build_conversation_input_ids: not a CogVLM-style "
                "model (set captioner.chat_api: processor)"
            )
        if self.tokenizer.pad_token_id is None:
            # LLaMA tokenizers (CogVLM v1's vicuna) have no pad token; any id works
            # under a zero attention mask
            self.tokenizer.pad_token_id = 0

    @property
    def pad_id(self) -> int:
        return self.tokenizer.pad_token_id

    def inputs(self, images: list[Any], query: str) -> dict[str, Any]:
        """``generate`` kwargs for one batch: each sample built by the model's own code,
        then left-padded to a common length."""
        torch = self.torch
        samples = [
            self.model.build_conversation_input_ids(
                self.tokenizer, query=query, history=[], images=[image],
                template_version=self.template_version,
            )
            for image in images
        ]
        width = max(sample["input_ids"].shape[0] for sample in samples)

        def left_pad(key: str, value: int) -> Any:
            return torch.stack([
                torch.cat([torch.full((width - s[key].shape[0],), value, dtype=s[key].dtype),
                           s[key]])
                for s in samples
            ]).to(self.device)

        batch: dict[str, Any] = {
            "input_ids": left_pad("input_ids", self.pad_id),
            "token_type_ids": left_pad("token_type_ids", 0),
            "attention_mask": left_pad("attention_mask", 0),
            "images": [[s["images"][0].to(self.device, self.dtype)] for s in samples],
        }
        if samples[0].get("cross_images"):  # CogAgent's high-resolution branch
            batch["cross_images"] = [[s["cross_images"][0].to(self.device, self.dtype)]
                                     for s in samples]
        return batch
