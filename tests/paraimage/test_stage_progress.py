"""Per-stage rows, rate and queue in the progress line, read live from Ray Data's
executor and named after our stages."""

from __future__ import annotations

import pyarrow as pa
import pytest

from curation.base import BaseSource, ShardSpec
from paraimage import stage_progress
from paraimage.console import ProgressView, RunTotals
from paraimage.stage_progress import StageSample, format_stages, stage_label


def test_operators_are_named_after_our_stages() -> None:
    stage_progress.name_stages({"_read_shard": "read", "ProbeStage": "probe",
                                "FilterChainStage": "filters", "AsyncVLLMCaptioner": "caption"})
    assert stage_label("FromItems") is None
    assert stage_label("Input") is None
    assert stage_label("FlatMap(_read_shard)->MapBatches(ProbeStage)->"
                       "MapBatches(FilterChainStage)") == "read+probe+filters"
    assert stage_label("MapBatches(AsyncVLLMCaptioner)") == "caption"
    assert stage_label("MapBatches(Unknown)") == "Unknown"


def test_the_progress_line_ends_with_the_stages_while_rows_are_left() -> None:
    stages = [(StageSample("read+probe", 120, 0, 1), 12.0),
              (StageSample("caption", 1_100, 3, 2), 9.5)]
    view = ProgressView(lambda: RunTotals(4, 2000, 0, {}), tty=False,
                        stages=lambda: format_stages(stages))
    assert view.line().endswith(
        "; stages: read+probe 120 rows 12.0/s, 0 queued | caption 1,100 rows 9.5/s, 3 queued")
    assert format_stages([]) is None


class Numbers(BaseSource):
    name = "numbers"

    def plan(self) -> list[ShardSpec]:
        return [ShardSpec(f"s{i}", self.name, "/n", 50) for i in range(4)]

    def read(self, shard: ShardSpec, run_id: str):
        for i in range(shard.n_records):
            yield {"id": f"{shard.shard_id}-{i}", "shard_id": shard.shard_id}


class Double:
    def __call__(self, batch: pa.Table) -> pa.Table:
        return batch


class Tag:
    def __call__(self, batch: pa.Table) -> pa.Table:
        return batch


@pytest.mark.slow
def test_a_real_run_reports_each_stage() -> None:
    import ray

    from paraimage.engine import ActorStage, CpuStage, build_dataset, iter_output_batches

    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             ignore_reinit_error=True)
    try:
        source = Numbers()
        stages = [CpuStage("double", Double(), num_cpus=0.5, batch_size=10),
                  ActorStage("tag", Tag, num_cpus=0.5, batch_size=10)]
        stage_progress.SAMPLE_EVERY_S = 0.0  # every step, so the short run is seen
        rows = sum(batch.num_rows for batch in iter_output_batches(
            build_dataset(source.plan(), source, "r", stages, read_num_cpus=0.5)))
    finally:
        stage_progress.SAMPLE_EVERY_S = 0.1
        ray.shutdown()
    assert rows == 200
    by_name = {sample.name: sample for sample, _ in stage_progress.latest()}
    # Ray Data fuses the CPU stage into the actor pool after it
    assert set(by_name) == {"read", "double+tag"}
    assert by_name["read"].rows_out == by_name["double+tag"].rows_out == 200
