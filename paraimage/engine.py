"""Ray Data as the engine: shard specs in, manifest rows out, stages in between.

CPU stages run as Ray tasks (fractional CPUs so small machines never stall); stages
that hold a model run as actor pools sized from the config. The driver only pulls the
finished, image-free rows and hands them to the ``ShardCollector``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from curation.base import BaseSource, ShardSpec
from paraimage.batches import Batch


@dataclass(frozen=True)
class CpuStage:
    """A picklable callable applied batch by batch in Ray tasks."""

    name: str
    fn: Callable[[Batch], Batch]
    num_cpus: float = 1.0
    batch_size: int = 32


@dataclass(frozen=True)
class ActorStage:
    """A callable class constructed once per actor (it loads a model)."""

    name: str
    cls: type
    constructor_kwargs: dict[str, Any] = field(default_factory=dict)
    concurrency: int = 1
    num_cpus: float = 1.0
    num_gpus: float = 0.0
    batch_size: int = 16


Stage = CpuStage | ActorStage


def _read_shard(item: dict[str, Any], source: BaseSource, run_id: str) -> Iterator[dict]:
    yield from source.read(ShardSpec.from_dict(item["shard"]), run_id)


def _apply(batch: Batch, stage_fn: Callable[[Batch], Batch]) -> Batch:
    return stage_fn(batch)


def build_dataset(
    shards: list[ShardSpec],
    source: BaseSource,
    run_id: str,
    stages: list[Stage],
    read_num_cpus: float,
):  # -> ray.data.Dataset
    import ray.data

    dataset = ray.data.from_items(
        [{"shard": shard.to_dict()} for shard in shards],
        override_num_blocks=max(1, len(shards)),
    )
    dataset = dataset.flat_map(
        partial(_read_shard, source=source, run_id=run_id), num_cpus=read_num_cpus
    )
    for stage in stages:
        if isinstance(stage, CpuStage):
            dataset = dataset.map_batches(
                partial(_apply, stage_fn=stage.fn),
                batch_format="pyarrow",
                batch_size=stage.batch_size,
                num_cpus=stage.num_cpus,
            )
        else:
            dataset = dataset.map_batches(
                stage.cls,
                fn_constructor_kwargs=stage.constructor_kwargs,
                batch_format="pyarrow",
                batch_size=stage.batch_size,
                concurrency=stage.concurrency,
                num_cpus=stage.num_cpus,
                num_gpus=stage.num_gpus or None,
            )
    return dataset


def iter_output_rows(dataset) -> Iterator[dict[str, Any]]:
    for batch in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
        yield from batch.to_pylist()
