"""Per-stage throughput and queue, live, from Ray Data's executor as it runs.

Ray Data calls each ``ExecutionCallback`` in ``DataContext.custom_execution_callback_classes``
at every step of its scheduling loop with the executor itself; its topology holds each
operator's metrics (rows its tasks produced) and state (input blocks queued, tasks
running). ``StageProgressCallback`` copies those few numbers at most twice a second
into ``latest()``, which the console's progress view shows: which stage holds the run
back is the one with a queue in front of it and the lowest rate.

Operators are named after our stages; stages Ray Data fuses into one operator show as
one (``probe+filters+prepare``, or a CPU stage fused into the actor pool after it).
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ray.data._internal.execution.execution_callback import ExecutionCallback

SAMPLE_EVERY_S = 0.1  # a copy of a few ints per operator: cheap, and never stale for long
RATE_WINDOW_S = 30.0
_OPERATOR_PART = re.compile(r"^\w+\((\w+)\)$")  # "MapBatches(ProbeStage)" -> ProbeStage


@dataclass(frozen=True)
class StageSample:
    name: str
    rows_out: int
    queued_blocks: int
    running_tasks: int


_lock = threading.Lock()
_names: dict[str, str] = {}  # UDF name (class or function) -> our stage name
_history: deque[tuple[float, tuple[StageSample, ...]]] = deque()
_last_sample = 0.0


def name_stages(udf_names: dict[str, str]) -> None:
    """How to call the operators of the next run: UDF name -> stage name."""
    with _lock:
        _names.clear()
        _names.update(udf_names)
        _history.clear()


def stage_label(operator_name: str) -> str | None:
    """``FlatMap(_read_shard)->MapBatches(ProbeStage)`` -> ``read+probe``; None for the
    input operator (the shard list)."""
    labels = []
    for part in operator_name.split("->"):
        match = _OPERATOR_PART.match(part.strip())
        udf = match.group(1) if match else part.strip()
        if part.strip().startswith(("FromItems", "Input")):  # the list of shard specs
            continue
        labels.append(_names.get(udf, udf))
    return "+".join(labels) or None


class StageProgressCallback(ExecutionCallback):
    def on_execution_step(self, executor: Any) -> None:
        global _last_sample
        now = time.monotonic()
        if now - _last_sample < SAMPLE_EVERY_S:
            return
        _last_sample = now
        try:
            samples = tuple(_samples(executor._topology.items()))
        except Exception:  # another Ray version's internals: no stage line, no harm
            return
        with _lock:
            _history.append((now, samples))
            while _history and _history[0][0] < now - RATE_WINDOW_S:
                _history.popleft()


def _samples(topology: Iterable[tuple[Any, Any]]) -> Iterable[StageSample]:
    for operator, state in topology:
        label = stage_label(operator.name)
        if label is None:
            continue
        yield StageSample(label, int(operator.metrics.rows_task_outputs_generated or 0),
                          int(state.total_enqueued_input_blocks()),
                          int(operator.num_active_tasks()))


def install() -> None:
    """Have Ray Data call us in this process's executions (idempotent)."""
    from ray.data import DataContext

    classes = DataContext.get_current().custom_execution_callback_classes
    if StageProgressCallback not in classes:
        classes.append(StageProgressCallback)


def latest() -> list[tuple[StageSample, float]]:
    """Each stage's last sample and its rows/s over the rate window."""
    with _lock:
        if not _history:
            return []
        (first_time, first), (last_time, last) = _history[0], _history[-1]
    span = last_time - first_time
    before = {sample.name: sample.rows_out for sample in first}
    return [(sample, (sample.rows_out - before.get(sample.name, 0)) / span if span else 0.0)
            for sample in last]


def format_stages(stages: list[tuple[StageSample, float]]) -> str | None:
    """``caption 7,900 rows 38.0/s, 3 queued`` per stage, or None before any."""
    if not stages:
        return None
    return " | ".join(
        f"{sample.name} {sample.rows_out:,} rows {rate:.1f}/s, {sample.queued_blocks} queued"
        for sample, rate in stages
    )
