"""Stages that time themselves, for ``paraimage estimate``: the same callables, wrapped.

Each wrapped batch gets, per row, the wall-clock start and end of the call that made
it (``_t0_<stage>``, ``_t1_<stage>``) and the prompt tokens its captioner reported
(``_prompt_tokens_<stage>``, spread over the batch's rows). From these the estimate
knows each stage's rows per second over the interval it was busy, engine start-up
excluded (a stage's clock starts when its first batch arrives, after ``__init__``),
and with batches in flight counted once, not once per batch. A captioner reports the
prompt tokens of each batch it finishes (``CaptionerCore.prompt_tokens_by_batch``).
"""

from __future__ import annotations

import inspect
import time
from dataclasses import replace
from functools import partial
from typing import Any

import pyarrow as pa

from paraimage.batches import Batch
from paraimage.engine import ActorStage, CpuStage, Stage

START, END, PROMPT_TOKENS = "_t0_", "_t1_", "_prompt_tokens_"


def timing_columns(stage: str) -> tuple[str, str, str]:
    return START + stage, END + stage, PROMPT_TOKENS + stage


def _stamp(batch: Batch, stage: str, start: float, end: float, prompt_tokens: int) -> Batch:
    if not isinstance(batch, pa.Table):
        raise TypeError(f"stage {stage} returned {type(batch).__name__}, not an Arrow table")
    n = batch.num_rows
    t0, t1, tokens = timing_columns(stage)
    return (batch.append_column(t0, pa.array([start] * n, pa.float64()))
            .append_column(t1, pa.array([end] * n, pa.float64()))
            .append_column(tokens, pa.array([prompt_tokens / max(n, 1)] * n, pa.float64())))


def _timed_fn(batch: Batch, fn: Any, stage: str) -> Batch:
    start = time.time()
    out = fn(batch)
    return _stamp(out, stage, start, time.time(), 0)


class TimedActor:
    """A synchronous actor stage's class, timed."""

    def __init__(self, inner_cls: type, inner_kwargs: dict[str, Any], stage: str) -> None:
        self.inner = inner_cls(**inner_kwargs)
        self.stage = stage
        if hasattr(self.inner, "prompt_tokens_by_batch"):  # a captioner: count its prompts
            self.inner.prompt_tokens_by_batch = {}

    def _prompt_tokens(self, batch: Batch) -> int:
        counts = getattr(self.inner, "prompt_tokens_by_batch", None)
        return counts.pop(id(batch), 0) if counts is not None else 0

    def __call__(self, batch: Batch) -> Batch:
        start = time.time()
        out = self.inner(batch)
        return _stamp(out, self.stage, start, time.time(), self._prompt_tokens(batch))


class TimedAsyncActor(TimedActor):
    """An async actor stage's class (several batches in flight), timed."""

    async def __call__(self, batch: Batch) -> Batch:  # type: ignore[override]
        start = time.time()
        out = await self.inner(batch)
        return _stamp(out, self.stage, start, time.time(), self._prompt_tokens(batch))


def timed(stage: Stage) -> Stage:
    """``stage`` doing the same work, stamping its rows with its timing."""
    if isinstance(stage, CpuStage):
        return replace(stage, fn=partial(_timed_fn, fn=stage.fn, stage=stage.name))
    assert isinstance(stage, ActorStage)
    wrapper = TimedAsyncActor if inspect.iscoroutinefunction(stage.cls.__call__) else TimedActor
    return replace(stage, cls=wrapper, constructor_kwargs={
        "inner_cls": stage.cls, "inner_kwargs": stage.constructor_kwargs, "stage": stage.name,
    })
