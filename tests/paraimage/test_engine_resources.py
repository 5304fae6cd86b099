"""The resource check that stops a job whose actor pools cannot all start."""

from __future__ import annotations

from paraimage.engine import ActorStage, CpuStage, check_resources, resource_demand


class Model:
    pass


STAGES = [
    CpuStage("probe", print, num_cpus=0.25),
    ActorStage("caption", Model, concurrency=1, num_cpus=1.0),
    ActorStage("caption-second", Model, concurrency=2, num_cpus=0.5, num_gpus=0.5),
    ActorStage("stats", Model, concurrency=1, num_cpus=0.5),
]


def test_demand_is_every_actor_plus_one_task() -> None:
    assert resource_demand(STAGES, read_num_cpus=0.25) == {"CPU": 2.75, "GPU": 1.0}


def test_fits_or_names_each_pool() -> None:
    assert check_resources(STAGES, 0.25, {"CPU": 3.0, "GPU": 1.0}) is None
    assert check_resources(STAGES, 0.25, {"CPU": 2.0, "GPU": 1.0}) == (
        "the pipeline needs 2.75 CPU at once (caption 1 x 1 CPU, caption-second 2 x 0.5 CPU "
        "+ 0.5 GPU, stats 1 x 0.5 CPU, plus one CPU-stage task) but the Ray cluster has "
        "2 CPU: lower the stages' num_cpus/num_gpus or concurrency, or add resources"
    )
    assert "needs 1 GPU at once" in check_resources(STAGES, 0.25, {"CPU": 8.0})


def test_actor_pools_are_sized_and_async_ones_hold_batches_in_flight() -> None:
    from paraimage.engine import _actor_pool_args

    plain = _actor_pool_args(ActorStage("stats", Model, concurrency=2))
    assert set(plain) == {"compute"}
    assert (plain["compute"].min_size, plain["compute"].max_size) == (2, 2)
    in_flight = _actor_pool_args(ActorStage("caption", Model, concurrency=3, max_concurrency=9))
    assert in_flight["max_concurrency"] == 9
    pool = in_flight["compute"]
    assert (pool.min_size, pool.max_size, pool.max_tasks_in_flight_per_actor) == (3, 3, 9)
