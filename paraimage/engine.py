"""Ray Data as the engine: shard specs in, manifest rows out, stages in between.

CPU stages run as Ray tasks (fractional CPUs so small machines never stall); stages
that hold a model run as actor pools sized from the config. The driver only pulls the
finished, image-free blocks and hands them to the ``ShardCollector``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from paraimage.batches import Batch
from paraimage.errors import UserError
from paraimage.source import BaseSource, ShardSpec


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
    # batches one actor holds at once: a class whose ``__call__`` is a coroutine (the
    # async vLLM engine) works on this many together, keeping its engine's queue full
    max_concurrency: int = 1
    # environment of the actors' processes (merged into the job's runtime_env's), for
    # what must be set before the process starts, such as the C allocator's settings
    env_vars: dict[str, str] = field(default_factory=dict)


Stage = CpuStage | ActorStage


class ResourceShortageError(UserError, RuntimeError):
    """The actor pools cannot all start on this cluster: the job would wait forever."""


def resource_demand(stages: list[Stage], read_num_cpus: float) -> dict[str, float]:
    """What the pipeline needs at once: every actor pool at its size, plus one task of
    the hungriest CPU stage (tasks come and go; actors hold their share)."""
    actors = [stage for stage in stages if isinstance(stage, ActorStage)]
    tasks = [read_num_cpus, *(s.num_cpus for s in stages if isinstance(s, CpuStage))]
    return {
        "CPU": sum(a.concurrency * a.num_cpus for a in actors) + max(tasks),
        "GPU": sum(a.concurrency * a.num_gpus for a in actors),
    }


def check_resources(
    stages: list[Stage], read_num_cpus: float, available: dict[str, float]
) -> str | None:
    """None when the cluster fits the pipeline, else a message naming each pool."""
    demand = resource_demand(stages, read_num_cpus)
    short = [kind for kind, needed in demand.items()
             if needed > available.get(kind, 0.0) + 1e-9 and needed > 0]
    if not short:
        return None
    pools = ", ".join(
        f"{stage.name} {stage.concurrency} x {stage.num_cpus:g} CPU"
        + (f" + {stage.num_gpus:g} GPU" if stage.num_gpus else "")
        for stage in stages if isinstance(stage, ActorStage)
    )
    needs = " and ".join(f"{demand[k]:g} {k}" for k in short)
    has = " and ".join(f"{available.get(k, 0.0):g} {k}" for k in short)
    return (f"the pipeline needs {needs} at once ({pools}, plus one CPU-stage task) but "
            f"the Ray cluster has {has}: lower the stages' num_cpus/num_gpus or "
            "concurrency, or add resources")


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

    _name_operators(stages)  # before the dataset: it takes a copy of the DataContext
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
                _udf(stage.fn),
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
                num_cpus=stage.num_cpus,
                num_gpus=stage.num_gpus or None,
                **_actor_pool_args(stage),
                **({"runtime_env": {"env_vars": stage.env_vars}} if stage.env_vars else {}),
            )
    return dataset


def _udf(fn: Callable[[Batch], Batch]) -> Callable[[Batch], Batch]:
    """What Ray Data runs for a CPU stage: a stage object itself (so its operator is
    named after its class, ``MapBatches(ProbeStage)``), anything else wrapped."""
    if inspect.isfunction(fn) or isinstance(fn, partial):
        return partial(_apply, stage_fn=fn)
    return fn


def _udf_name(fn: Callable[..., Any]) -> str:
    if isinstance(fn, partial):
        return fn.func.__name__
    return fn.__name__ if inspect.isfunction(fn) else type(fn).__name__


def _name_operators(stages: list[Stage]) -> None:
    """The live per-stage view (``stage_progress``) names Ray Data's operators after
    our stages; it is installed here so every run of the engine has it."""
    from paraimage import stage_progress

    names = {"_read_shard": "read"}
    for stage in stages:
        if isinstance(stage, CpuStage):
            names[_udf_name(stage.fn)] = stage.name
        else:
            names[stage.cls.__name__] = stage.name
    stage_progress.name_stages(names)
    stage_progress.install()


def _actor_pool_args(stage: ActorStage) -> dict[str, Any]:
    """The pool's size, and for an async stage the batches each actor runs at once:
    Ray Data sends an actor that many (``max_tasks_in_flight_per_actor``) and Ray lets
    it run them together (``max_concurrency``), as ``ray.data.llm`` does."""
    import ray.data

    if stage.max_concurrency <= 1:  # ``concurrency=`` is deprecated since Ray 2.51
        return {"compute": ray.data.ActorPoolStrategy(size=stage.concurrency)}
    return {
        "compute": ray.data.ActorPoolStrategy(
            size=stage.concurrency, max_tasks_in_flight_per_actor=stage.max_concurrency
        ),
        "max_concurrency": stage.max_concurrency,
    }


def iter_output_batches(dataset) -> Iterator[Batch]:
    """The pipeline's output blocks as they finish, as Arrow tables: the driver never
    makes a Python object per row."""
    yield from dataset.iter_batches(batch_size=None, batch_format="pyarrow")


def iter_output_rows(dataset) -> Iterator[dict[str, Any]]:
    for batch in iter_output_batches(dataset):
        yield from batch.to_pylist()
