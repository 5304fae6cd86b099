"""What a run lived through on the cluster: nodes lost, work redone, rows re-delivered.

Ray recovers a lost worker node by itself: Ray Data retries its tasks (``max_retries
-1``) and restarts its actors elsewhere (``max_restarts -1``), and a retried read task
yields its shard's rows again, which the collector drops. This module notes what was
recovered, for the console and ``run.json``, and turns what Ray cannot recover (the
head node, the driver's own node) into one message that says how to resume.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from paraimage.shard_writer import ShardCollector

log = logging.getLogger("paraimage")


def is_cluster_loss(error: BaseException) -> bool:
    """Ray's error for a process, node or object it lost and could not rebuild; not an
    error raised inside a stage (a ``RayTaskError``, whatever it wraps)."""
    from ray import exceptions

    if isinstance(error, exceptions.RayTaskError):
        return False
    names = ("NodeDiedError", "ActorDiedError", "ActorUnavailableError", "ObjectLostError",
             "OwnerDiedError", "ObjectReconstructionFailedError", "WorkerCrashedError",
             "LocalRayletDiedError", "RaySystemError", "RpcError")
    lost = tuple(getattr(exceptions, name) for name in names if hasattr(exceptions, name))
    return isinstance(error, lost)


class ClusterLostError(RuntimeError):
    """The cluster lost something Ray does not rebuild (the head, the driver's node)."""


def alive_nodes() -> dict[str, str]:
    """node id -> address of each live node of the connected cluster."""
    import ray

    return {node["NodeID"]: node.get("NodeManagerAddress", "?")
            for node in ray.nodes() if node.get("Alive")}


def retried_tasks() -> int | None:
    """Tasks of this job Ray ran more than once, from its state API; None where the
    cluster has none to ask (a local Ray without a dashboard)."""
    try:
        import ray
        from ray.util.state import list_tasks

        if not ray.is_initialized():
            return None
        job = ray.get_runtime_context().get_job_id()
        tasks = list_tasks(filters=[("job_id", "=", job)], limit=10_000, timeout=10,
                           raise_on_missing_output=False)
        return sum(1 for task in tasks if (task.attempt_number or 0) > 0)
    except Exception:  # the state API is a nicety; the run does not depend on it
        log.debug("task retries unavailable", exc_info=True)
        return None


class RecoveringCollector(ShardCollector):
    """The shard collector, keeping the figures of what the run recovered from."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.nodes_lost: dict[str, str] = {}
        self.first_rows_at: float | None = None  # perf_counter when rows first came

    def note_nodes_lost(self, lost: Iterable[str], addresses: dict[str, str] | None = None
                        ) -> None:
        addresses = addresses or {}
        self.nodes_lost = {node: addresses.get(node, "?") for node in lost}

    @property
    def recovery(self) -> dict[str, Any]:
        nodes_lost = self.nodes_lost
        figures: dict[str, Any] = {
            "nodes_lost": sorted(f"{node[:12]} ({address})"
                                 for node, address in nodes_lost.items()),
            "rows_redelivered": self.redelivered,
            "spill_files": self.spill_files,
            "spilled_rows": self.spilled_rows,
            "peak_buffered_bytes": self.peak_buffered_bytes,
            "largest_batch_bytes": self.largest_batch_bytes,
        }
        if nodes_lost:
            figures["tasks_retried"] = retried_tasks()
        return figures

    def recovery_lines(self) -> list[str]:
        figures = self.recovery
        lines = []
        if figures["nodes_lost"]:
            retried = figures.get("tasks_retried")
            lines.append(
                f"{len(figures['nodes_lost'])} node(s) lost during the run "
                f"({', '.join(figures['nodes_lost'])}): Ray redid their work"
                + (f" ({retried} task(s) retried)" if retried is not None else "")
            )
        if self.redelivered:
            lines.append(f"{self.redelivered} rows re-delivered by retried tasks were "
                         "dropped (their first copy was kept)")
        if self.spill_files:
            lines.append(
                f"{self.spilled_rows} rows of unfinished shards were spilled to disk "
                f"({self.spill_files} files) to keep the driver within "
                f"ray.driver_buffer_bytes={self.memory_budget}"
            )
        return lines


def lost_cluster_message(exc: BaseException, run_dir: Any,
                         collector: ShardCollector) -> str:
    first_line = (str(exc).strip().splitlines() or [""])[0][:300]
    complete = len(collector.finished)
    planned = complete + len(collector.expected)
    return (
        f"the Ray cluster lost what this run needed and could not rebuild it "
        f"({type(exc).__name__}: {first_line}). {complete} of the {planned} shards of this "
        f"invocation are complete in {run_dir.root}; run the same command again to "
        "resume: complete shards are kept, the rest are redone"
    )
