"""Image filters of the recaption job: each scores a row and may reject it.

Per-image CPU filters (``BaseImageFilter.apply``): resolution, mosaic, watermark, nsfw,
dedup's perceptual hash. Model filter (``BatchImageFilter.apply_batch``, an actor-pool
stage): aesthetic. Run-level steps over the manifests: ``dedup_run``,
``write_funnel_report``. Each filter registers itself (``filters/registry.py``).
"""

from filters.aesthetic import AestheticFilter, AestheticFilterConfig
from filters.base import BaseImageFilter, BatchImageFilter, FilterConfig, FilterMode
from filters.dedup import DedupFilterConfig, PerceptualHashFilter, dedup_run, write_dedup
from filters.funnel import write_funnel_report
from filters.mosaic import MosaicFilter, MosaicFilterConfig, detect_mosaic
from filters.registry import FilterKind, build_filter, filter_kinds, register_filter
from filters.resolution import ResolutionFilter, ResolutionFilterConfig
from filters.safety import NsfwFilter, NsfwFilterConfig, WatermarkFilter, WatermarkFilterConfig

__all__ = [
    "AestheticFilter",
    "AestheticFilterConfig",
    "BaseImageFilter",
    "BatchImageFilter",
    "DedupFilterConfig",
    "FilterConfig",
    "FilterKind",
    "FilterMode",
    "MosaicFilter",
    "MosaicFilterConfig",
    "NsfwFilter",
    "NsfwFilterConfig",
    "PerceptualHashFilter",
    "ResolutionFilter",
    "ResolutionFilterConfig",
    "WatermarkFilter",
    "WatermarkFilterConfig",
    "build_filter",
    "dedup_run",
    "detect_mosaic",
    "filter_kinds",
    "register_filter",
    "write_dedup",
    "write_funnel_report",
]
