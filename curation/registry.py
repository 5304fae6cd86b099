"""Source kinds by name, and the union of a job's sources.

The config's ``source.kind`` picks the class (a registry, not an if/elif chain). A job
may read several sources (the paper's ParaImage-Big mixes LAION-Aesthetics and SA-1B);
``MultiSource`` plans them all, prefixing shard ids with the source name so shards
from different sources never collide, refuses a source that has nothing to read, and
dispatches each shard to its reader.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from pydantic import BaseModel

from curation.base import BaseSource, EmptySourceError, ShardSpec
from curation.demo_laion import DemoLaionSource
from curation.folder import FolderSource
from curation.sa1b import SA1BSource
from curation.sample_photos import SamplePhotosSource
from curation.url_text import UrlTextSource
from curation.webdataset import WebDatasetSource

SOURCES: dict[str, type[BaseSource]] = {
    "folder": FolderSource,
    "webdataset": WebDatasetSource,
    "sample_photos": SamplePhotosSource,
    "laion": UrlTextSource,
    "url_text": UrlTextSource,
    "demo_laion": DemoLaionSource,
    "sa1b": SA1BSource,
}


def build_source(config: BaseModel) -> BaseSource:
    kind = config.kind
    if kind not in SOURCES:
        raise ValueError(f"source kind {kind!r} has no implementation")
    return SOURCES[kind](config)


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


def build_sources(configs: Sequence[BaseModel]) -> MultiSource:
    return MultiSource([build_source(config) for config in configs])
