"""Image filters of the recaption job: each scores a row and may reject it.

Per-image CPU filters (``BaseImageFilter.apply``): resolution, mosaic, watermark, nsfw,
dedup's perceptual hash. Model filter (``BatchImageFilter.apply_batch``, an actor-pool
stage): aesthetic. Run-level steps over the manifests: ``dedup_run``,
``write_funnel_report``.
"""

from filters.aesthetic import AestheticFilter, AestheticFilterConfig
from filters.base import BaseImageFilter, BatchImageFilter, FilterConfig, FilterMode
from filters.dedup import DedupFilterConfig, PerceptualHashFilter, dedup_run, write_dedup
from filters.funnel import write_funnel_report
from filters.mosaic import MosaicFilter, MosaicFilterConfig, detect_mosaic
from filters.resolution import ResolutionFilter, ResolutionFilterConfig
from filters.safety import NsfwFilter, NsfwFilterConfig, WatermarkFilter, WatermarkFilterConfig

# Filter name -> (filter class, config model): the job config composes these by name.
FILTER_REGISTRY: dict[str, tuple[type[BaseImageFilter], type[FilterConfig]]] = {
    ResolutionFilter.name: (ResolutionFilter, ResolutionFilterConfig),
    AestheticFilter.name: (AestheticFilter, AestheticFilterConfig),
    MosaicFilter.name: (MosaicFilter, MosaicFilterConfig),
    WatermarkFilter.name: (WatermarkFilter, WatermarkFilterConfig),
    NsfwFilter.name: (NsfwFilter, NsfwFilterConfig),
    PerceptualHashFilter.name: (PerceptualHashFilter, DedupFilterConfig),
}


def build_filter(name: str, config: FilterConfig) -> BaseImageFilter | None:
    """The filter ``name`` built from its config, or ``None`` when its mode is ``off``."""
    if name not in FILTER_REGISTRY:
        raise ValueError(f"unknown filter {name!r}; known: {sorted(FILTER_REGISTRY)}")
    cls, config_cls = FILTER_REGISTRY[name]
    if not isinstance(config, config_cls):
        raise TypeError(f"filter {name!r} needs a {config_cls.__name__}, got "
                        f"{type(config).__name__}")
    if config.mode == "off":
        return None
    return cls(config)  # type: ignore[call-arg]


__all__ = [
    "FILTER_REGISTRY",
    "AestheticFilter",
    "AestheticFilterConfig",
    "BaseImageFilter",
    "BatchImageFilter",
    "DedupFilterConfig",
    "FilterConfig",
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
    "write_dedup",
    "write_funnel_report",
]
