"""The engine's unit of work: a shard of input records, and what reads it.

The input shard is the unit of work and of resume (DESIGN.md): ``plan()`` lists the
shards once per run (the plan is saved, so a rerun sees the same shards even if the
folder changed), and ``read(shard)`` yields exactly ``shard.n_records`` records, one
per input record, bad ones included. Sources (``curation/``) implement ``BaseSource``;
the engine, the run directory and the shard writer know only this module.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from paraimage.errors import UserError
from paraimage.manifest import (
    MANIFEST_COLUMNS,
    SCHEMA_VERSION,
    STATUS_ERROR,
    STATUS_KEPT,
    record_id,
)

IMAGE_BYTES = "_image_bytes"  # internal column: the original bytes, never written


@dataclass(frozen=True)
class ShardSpec:
    """One input shard: what the reader opens and how many records it must yield."""

    shard_id: str
    source: str
    uri: str
    n_records: int
    members: tuple[str, ...] = field(default=())  # file lists for folder shards
    row_group: int | None = None  # URL+text shards: the row group of the metadata file

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ShardSpec:
        return cls(**{**data, "members": tuple(data.get("members", ()))})


def new_record(shard: ShardSpec, source_key: str, run_id: str) -> dict[str, Any]:
    """A record before any stage ran: identity columns filled, status ``kept``, every
    other manifest column present and null (so all rows share one set of columns)."""
    return {
        **dict.fromkeys(MANIFEST_COLUMNS),
        "id": record_id(shard.source, source_key),
        "source": shard.source,
        "source_key": source_key,
        "shard_id": shard.shard_id,
        "run_id": run_id,
        "schema_version": SCHEMA_VERSION,
        "status": STATUS_KEPT,
        IMAGE_BYTES: None,
    }


def error_record(
    shard: ShardSpec, source_key: str, run_id: str, message: str
) -> dict[str, Any]:
    record = new_record(shard, source_key, run_id)
    record.update(status=STATUS_ERROR, error=message)
    return record


class EmptySourceError(UserError, ValueError):
    """A source whose plan holds no records: a configuration that reads nothing."""


class BaseSource(ABC):
    """A source of images; subclasses name themselves and know their shards."""

    name: str

    def nothing_to_read(self) -> str:
        """Why a plan of this source can hold no records, for the user."""
        return "its plan holds no records"

    @abstractmethod
    def plan(self) -> list[ShardSpec]:
        """All shards of this source, in a stable order."""

    @abstractmethod
    def read(self, shard: ShardSpec, run_id: str) -> Iterator[dict[str, Any]]:
        """Exactly ``shard.n_records`` records of ``shard``."""

    def session(self) -> contextlib.AbstractContextManager[None]:
        """Held by the driver while shards are read (the demo's local web server)."""
        return contextlib.nullcontext()
