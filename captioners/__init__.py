"""Captioners: config, model resolution, image preparation and backends.

Backends import their engines lazily (inside ``__init__``), so importing this package
does not import vLLM or torch.
"""

from captioners.base import BaseCaptioner, Generation
from captioners.config import VLLMCaptionerConfig
from captioners.prepare import CaptionImagePrep
from captioners.vllm_backend import VLLMCaptioner

__all__ = [
    "BaseCaptioner",
    "CaptionImagePrep",
    "Generation",
    "VLLMCaptioner",
    "VLLMCaptionerConfig",
]
