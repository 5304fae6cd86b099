"""Captioner backends by name: the config's ``captioner.backend`` picks the class."""

from __future__ import annotations

from captioners.base import BaseCaptioner
from captioners.openai_backend import OpenAICaptioner
from captioners.transformers_backend import TransformersCaptioner
from captioners.vllm_backend import VLLMCaptioner

CAPTIONERS: dict[str, type[BaseCaptioner]] = {
    "vllm": VLLMCaptioner,
    "transformers": TransformersCaptioner,
    "openai": OpenAICaptioner,
}
