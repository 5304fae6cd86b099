"""Sources register themselves here, once; the job's sources are built from that.

A source module ends with ``register_source(SourceKind(...))``: its config model (with
``kind: Literal[...]``), its class, the dataset card's terms and whether it downloads.
The job config's ``sources:`` union, the download folders and summary, the funnel's
download steps and the card's licence lines all come from the registrations. Every
module of this package is imported the first time the registry is asked; packages
outside it (``demo/``) register when they are imported.

A job may read several sources (the paper's ParaImage-Big mixes LAION-Aesthetics and
SA-1B); ``MultiSource`` plans them all, prefixing shard ids with the source name so
shards from different sources never collide, refuses a source that has nothing to
read, and dispatches each shard to its reader.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Annotated, Any, Union, get_args

from pydantic import Field

from curation.base import BaseSource, EmptySourceError, ShardSpec, SourceConfig
from paraimage.plugins import import_package_modules

# (dataset, terms) for a source kind or preset nobody registered terms for
UNKNOWN_TERMS = ("unknown source", "No terms are recorded for this source kind: check "
                 "the licence of the data fed in before releasing it.")


@dataclass(frozen=True)
class SourceKind:
    """One kind of source (or several kinds that share a config model and a reader)."""

    config: type[SourceConfig]
    source: Callable[[Any], BaseSource]
    # (dataset, terms) for the dataset card, by kind or by the config's ``preset``
    terms: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    # Fetches images by URL: a download folder in the run (``download_dir``), the
    # download summary, and ``prefilter``/``download`` steps at the funnel's head.
    downloads: bool = False
    # Reason prefixes of rows the source itself turns away before any decode (metadata
    # prefilters, failed downloads): the funnel's first steps, in this order.
    reject_steps: tuple[str, ...] = ()

    @property
    def kinds(self) -> tuple[str, ...]:
        return get_args(self.config.model_fields["kind"].annotation)


_REGISTERED: dict[str, SourceKind] = {}


def register_source(kind: SourceKind) -> SourceKind:
    if not kind.kinds:
        raise ValueError(f"{kind.config.__name__}.kind must be a Literal of its kind names")
    for name in kind.kinds:
        existing = _REGISTERED.get(name)
        if existing is not None and existing.config is not kind.config:
            raise ValueError(f"source kind {name!r} is registered twice "
                             f"({existing.config.__name__} and {kind.config.__name__})")
        _REGISTERED[name] = kind
    return kind


def source_kinds() -> dict[str, SourceKind]:
    """Every registered source kind by name."""
    import_package_modules(__package__ or "curation")
    return dict(_REGISTERED)


def source_kind(kind: str) -> SourceKind:
    kinds = source_kinds()
    if kind not in kinds:
        raise ValueError(f"source kind {kind!r} has no implementation; known: {sorted(kinds)}")
    return kinds[kind]


def source_config_union() -> Any:
    """The type of one entry of the job's ``sources:`` list, chosen by ``kind``."""
    kinds = source_kinds()
    models = tuple(dict.fromkeys(kinds[name].config for name in sorted(kinds)))
    return Annotated[Union[models], Field(discriminator="kind")]  # noqa: UP007


def source_terms(kind: str, preset: str | None = None) -> tuple[str, str]:
    """(dataset, terms) of a source, for the dataset card."""
    registered = source_kinds().get(kind)
    terms = registered.terms if registered else {}
    for key in (preset, kind):
        if key in terms:
            return terms[key]
    return UNKNOWN_TERMS


def downloads(kind: str) -> bool:
    registered = source_kinds().get(kind)
    return bool(registered and registered.downloads)


def build_source(config: SourceConfig) -> BaseSource:
    return source_kind(config.kind).source(config)


class MultiSource(BaseSource):
    name = "multi"

    def __init__(self, sources: Sequence[BaseSource]) -> None:
        names = [source.name for source in sources]
        if len(set(names)) != len(names):
            raise ValueError(f"source names must be unique, got {names}")
        self.by_name = {source.name: source for source in sources}

    def plan(self) -> list[ShardSpec]:
        """Every source's shards, prefixed; a source with no records at all is refused
        (``EmptySourceError``): a wrong path should not make an empty run."""
        shards = []
        for name, source in self.by_name.items():
            planned = source.plan()
            if not any(shard.n_records for shard in planned):
                raise EmptySourceError(
                    f"source {name!r} has nothing to read: {source.nothing_to_read()}"
                )
            shards.extend(replace(shard, shard_id=f"{name}-{shard.shard_id}")
                          for shard in planned)
        return shards

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        with contextlib.ExitStack() as stack:
            for source in self.by_name.values():
                stack.enter_context(source.session())
            yield

    def read(self, shard: ShardSpec, run_id: str) -> Iterator[dict[str, Any]]:
        source = self.by_name[shard.source]
        original_id = shard.shard_id.removeprefix(f"{shard.source}-")
        for record in source.read(replace(shard, shard_id=original_id), run_id):
            record["shard_id"] = shard.shard_id
            yield record


def build_sources(configs: Sequence[SourceConfig]) -> MultiSource:
    return MultiSource([build_source(config) for config in configs])
