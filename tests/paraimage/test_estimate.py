"""The estimate's arithmetic on timed rows with known figures (no Ray, no engine)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from curation.base import ShardSpec
from paraimage.engine import ActorStage, CpuStage
from paraimage.estimate import format_estimate, measure
from paraimage.stage_timing import TimedActor, TimedAsyncActor, timed, timing_columns
from workflows.estimate import sample_shards


def _row(i: int, status: str, caption_start: float, caption_end: float) -> dict:
    probe0, probe1, _ = timing_columns("probe")
    cap0, cap1, cap_prompt = timing_columns("caption")
    return {
        "status": status, "reject_reason": "resolution_short_edge" if status == "rejected"
        else None, "error": None,
        probe0: 0.0, probe1: 2.0, cap0: caption_start, cap1: caption_end, cap_prompt: 50.0,
        "caption_variants": [{"captioner": "m", "status": "ok", "n_tokens": 100 + i,
                              "finish_reason": "length" if i % 2 else "stop"}]
        if status == "kept" else [],
    }


def test_rates_tokens_shares_and_projection() -> None:
    rows = [_row(i, "kept", 1.0, 11.0) for i in range(8)] + [_row(8, "rejected", 1.0, 11.0),
                                                            _row(9, "rejected", 1.0, 11.0)]
    estimate = measure(rows, [("probe", 0, 0.0), ("caption", 2, 2.0)], {"m": "caption"},
                       planned_inputs=1000, start_up_seconds=30.0)
    probe, caption = estimate.stages
    assert (probe.rows, probe.seconds, probe.rows_per_second) == (10, 2.0, 5.0)
    assert (caption.rows, caption.seconds, caption.rows_per_second) == (10, 10.0, 1.0)
    assert estimate.bottleneck is caption
    assert estimate.projected_seconds == 30.0 + 1000 / 1.0
    assert estimate.gpu_hours == pytest.approx(1030 / 3600 * 2)
    use = estimate.captioners[0]
    assert (use.requests, use.output_tokens, use.prompt_tokens) == (8, 828, 500)
    assert use.output_tokens_per_second == 82.8
    assert use.finish_reasons == {"stop": 4, "length": 4}
    assert estimate.statuses == {"kept": 8, "rejected": 2}
    assert estimate.reasons == {"resolution_short_edge": 2}
    text = format_estimate(estimate)
    assert "sample: 10 of 1000 planned inputs; start-up (to the first output) 30.0 s" in text
    assert "| caption | 10 | 10.00 | 1.00 | 2 actor(s), 2 GPU |" in text
    assert ("captioner m (caption): 8 requests, 82.8 output tokens/s, mean prompt 62 and "
            "output 104 tokens") in text
    assert "the sample's inputs: 80.0% kept, 20.0% rejected, 0.0% error" in text
    assert ("projection for 1000 inputs: 17m 10s (0.29 h) at the caption stage's 1.00 rows/s, "
            "0.57 GPU-hours on 2 GPU(s)") in text


def test_sampled_shards_hold_at_least_the_asked_inputs_in_a_seeded_order() -> None:
    shards = [ShardSpec(f"s{i}", "src", "p", n_records=4) for i in range(10)]
    picked = sample_shards(shards, 9, seed=0)
    assert len(picked) == 3 and sum(s.n_records for s in picked) == 12
    assert picked == sample_shards(shards, 9, seed=0)
    assert picked != sample_shards(shards, 9, seed=1)
    assert sample_shards(shards, 100, seed=0) != [] and len(sample_shards(shards, 100, 0)) == 10


class Doubler:
    def __init__(self, factor: int) -> None:
        self.factor = factor

    def __call__(self, batch: pa.Table) -> pa.Table:
        return batch.set_column(0, "x", pa.compute.multiply(batch.column("x"), self.factor))


class AsyncDoubler(Doubler):
    async def __call__(self, batch: pa.Table) -> pa.Table:  # type: ignore[override]
        return super().__call__(batch)


def test_timed_stages_do_the_same_work_and_stamp_their_rows() -> None:
    import asyncio

    table = pa.table({"x": [1, 2, 3]})
    cpu = timed(CpuStage("probe", lambda b: b))
    out = cpu.fn(table)
    start, end, tokens = timing_columns("probe")
    assert out.column_names == ["x", start, end, tokens]
    assert out.column(start)[0].as_py() <= out.column(end)[0].as_py()
    sync = timed(ActorStage("double", Doubler, {"factor": 2}))
    assert sync.cls is TimedActor
    assert sync.cls(**sync.constructor_kwargs)(table).column("x").to_pylist() == [2, 4, 6]
    concurrent = timed(ActorStage("double", AsyncDoubler, {"factor": 3}, max_concurrency=4))
    assert concurrent.cls is TimedAsyncActor and concurrent.max_concurrency == 4
    result = asyncio.run(concurrent.cls(**concurrent.constructor_kwargs)(table))
    assert result.column("x").to_pylist() == [3, 6, 9]
