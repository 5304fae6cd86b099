"""Captioner backends by name: the config's ``captioner.backend`` picks the class
(and, for vLLM, ``captioner.engine`` the async or the synchronous engine)."""

from __future__ import annotations

from captioners.base import BaseCaptioner, CaptionerCore
from captioners.config import CaptionerConfig, VLLMCaptionerConfig
from captioners.openai_backend import OpenAICaptioner
from captioners.transformers_backend import TransformersCaptioner
from captioners.vllm_async import AsyncVLLMCaptioner
from captioners.vllm_backend import VLLMCaptioner

CAPTION_STEP = "caption"  # the prefix of caption errors and caption-QA rejects

CAPTIONERS: dict[str, type[BaseCaptioner]] = {
    "vllm": VLLMCaptioner,
    "transformers": TransformersCaptioner,
    "openai": OpenAICaptioner,
}


def captioner_class(config: CaptionerConfig) -> type[CaptionerCore]:
    if isinstance(config, VLLMCaptionerConfig) and config.engine == "async":
        return AsyncVLLMCaptioner
    return CAPTIONERS[config.backend]


def batches_in_flight(config: CaptionerConfig) -> int:
    """Batches one actor of this captioner holds at once."""
    return config.batches_in_flight if isinstance(config, VLLMCaptionerConfig) else 1
