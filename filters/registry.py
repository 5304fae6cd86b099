"""Filters register themselves here, once; everything else is derived from that.

A filter module ends with ``register_filter(FilterKind(...))``. From the registrations
come the job config's ``filters:`` section (``workflows/config.py``), the order rows
meet the filters in (the funnel's order), which filters run in the CPU chain and which
as an actor stage, the funnel's score columns, and the dataset card's lines. Every
module of this package is imported the first time the registry is asked, so a new
filter is one new module (``filters/README.md``, "Adding a filter").
"""

from __future__ import annotations

from dataclasses import dataclass

from filters.base import BaseImageFilter, BatchImageFilter, FilterConfig
from paraimage.plugins import import_package_modules


@dataclass(frozen=True)
class FilterKind:
    """One filter: its config model, its class, and where it sits among the others."""

    config: type[FilterConfig]
    filter: type[BaseImageFilter]
    # Rows meet filters by increasing ``order`` and stop at their first reject, so
    # cheap and selective filters come first (filters/README.md lists the slots).
    order: int
    # The settings the dataset card names (the full config ships with the release).
    card_settings: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The config key, the reject reasons' prefix and the funnel's row name."""
        return self.filter.name

    @property
    def score_columns(self) -> tuple[str, ...]:
        return self.filter.score_columns

    @property
    def batched(self) -> bool:
        """Holds a model and scores batches: an actor stage, after the CPU chain."""
        return issubclass(self.filter, BatchImageFilter)


_REGISTERED: dict[str, FilterKind] = {}


def register_filter(kind: FilterKind) -> FilterKind:
    existing = _REGISTERED.get(kind.name)
    if existing is not None and existing != kind:
        raise ValueError(f"filter {kind.name!r} is registered twice "
                         f"({existing.filter.__module__} and {kind.filter.__module__})")
    clash = [k.name for k in _REGISTERED.values() if k.order == kind.order and k != kind]
    if clash:
        raise ValueError(f"filter {kind.name!r} takes order {kind.order}, "
                         f"which {clash[0]!r} holds")
    _REGISTERED[kind.name] = kind
    return kind


def filter_kinds() -> list[FilterKind]:
    """Every registered filter, in the order rows meet them."""
    import_package_modules(__package__ or "filters")
    return sorted(_REGISTERED.values(), key=lambda kind: kind.order)


def filter_kind(name: str) -> FilterKind:
    kinds = {kind.name: kind for kind in filter_kinds()}
    if name not in kinds:
        raise ValueError(f"unknown filter {name!r}; known: {sorted(kinds)}")
    return kinds[name]


def build_filter(name: str, config: FilterConfig) -> BaseImageFilter | None:
    """The filter ``name`` built from its config, or ``None`` when its mode is ``off``."""
    kind = filter_kind(name)
    if not isinstance(config, kind.config):
        raise TypeError(f"filter {name!r} needs a {kind.config.__name__}, got "
                        f"{type(config).__name__}")
    if config.mode == "off":
        return None
    return kind.filter(config)  # type: ignore[call-arg]


def score_columns() -> dict[str, tuple[str, ...]]:
    """Score columns of each filter, as the filters declare them (funnel histograms)."""
    return {kind.name: kind.score_columns for kind in filter_kinds()}
