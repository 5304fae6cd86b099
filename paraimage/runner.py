"""Runs a job: plan shards, skip complete ones, stream the rest through the stages.

The resume contract lives here: the plan is fixed at the first invocation, a shard is
done when its manifest exists with the planned row count, and rows of unfinished
shards are never written, so a killed run redone gives the same rows, once each.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from paraimage import console, ray_session
from paraimage.engine import (
    ResourceShortageError,
    Stage,
    build_dataset,
    check_resources,
    iter_output_batches,
)
from paraimage.recovery import (
    ClusterLostError,
    RecoveringCollector,
    alive_nodes,
    is_cluster_loss,
    lost_cluster_message,
)
from paraimage.run_record import end_invocation, mark_unfinished, new_invocation
from paraimage.rundir import RunDir
from paraimage.settings import JobSettings
from paraimage.source import BaseSource, ShardSpec
from paraimage.summary import RunSummary, format_summary, summarize

log = logging.getLogger("paraimage")


def init_ray(config: JobSettings) -> None:
    """Ray for the job (``paraimage.ray_session``), and Ray Data set up for it."""
    ray_session.connect(config.ray.address, num_cpus=config.ray.num_cpus,
                        log_to_driver=console.verbose())
    from ray.data import DataContext

    context = DataContext.get_current()
    context.execution_options.preserve_order = False
    context.enable_progress_bars = console.verbose()  # else one ProgressView (console.py)


Finalizer = Callable[[RunDir], str | None]


def run_job(
    config: JobSettings,
    source: BaseSource,
    stages: list[Stage],
    argv: list[str] | None = None,
    finalizers: Sequence[Finalizer] = (),
    on_manifest_written: Callable[[RunDir, Path], None] | None = None,
) -> RunSummary:
    """Run the stages over the pending shards, then the run-level ``finalizers`` (dedup,
    funnel report, statistics) over all manifests; each returns a line to print.
    ``on_manifest_written`` is called with each shard's manifest as it is written (the
    statistics' rollups); its failure is logged, not fatal: a finalizer redoes it."""
    run_dir = RunDir(config.run.directory)
    # one invocation per run directory: a second one, while the first lives, is refused
    with run_dir.locked():
        return _run_locked(config, source, stages, run_dir, argv, finalizers,
                           on_manifest_written)


def _run_locked(
    config: JobSettings,
    source: BaseSource,
    stages: list[Stage],
    run_dir: RunDir,
    argv: list[str] | None,
    finalizers: Sequence[Finalizer],
    on_manifest_written: Callable[[RunDir, Path], None] | None,
) -> RunSummary:
    fingerprint = config.fingerprint()
    # seconds per step of this invocation, for run.json (where did the time go)
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    # planning comes before anything is written: a source that cannot be planned (an
    # empty one, a tar that cannot be fetched) leaves no half-made run directory
    run_dir.check_config(fingerprint)
    shards = run_dir.load_plan()
    planned_now = shards is None
    if shards is None:
        shards = run_dir.make_plan(source)
    run_dir.prepare(config.model_dump(mode="json"), fingerprint)
    if planned_now:
        run_dir.save_plan(shards)
    timings["plan"] = time.perf_counter() - clock
    run_id = f"{config.run.name}-{fingerprint}"
    clock = time.perf_counter()
    pending = run_dir.pending(shards)
    timings["find complete shards"] = time.perf_counter() - clock
    total_records = sum(shard.n_records for shard in shards)
    print(
        f"[paraimage] run {run_id} in {run_dir.root}: {len(shards)} shards "
        f"({total_records} records); {len(shards) - len(pending)} complete, "
        f"{len(pending)} to do",
        flush=True,
    )
    record = run_dir.read_record() or {"run_id": run_id, "invocations": []}
    killed = mark_unfinished(record["invocations"])
    if killed:
        print(f"[paraimage] {killed} earlier invocation(s) ended without recording it "
              "(killed): marked interrupted in run.json", flush=True)
    invocation = new_invocation(argv if argv is not None else sys.argv)
    record["invocations"].append(invocation)
    run_dir.write_record(record)
    try:
        summary, collector = _run_recorded(config, source, stages, run_id, run_dir,
                                           pending, finalizers, on_manifest_written, timings)
    except BaseException as exc:
        end_invocation(invocation, exc)
        with contextlib.suppress(OSError):  # the error itself matters more
            run_dir.write_record(record)
        raise
    end_invocation(invocation)
    invocation.update(
        shards_written=collector.written if collector else [],
        summary=summary.to_dict(),
        recovered=collector.recovery if collector else {},
        timings_s={step: round(seconds, 3) for step, seconds in timings.items()},
    )
    record["counts"] = summary.to_dict()
    run_dir.write_record(record)
    print(format_summary(summary), flush=True)
    print(f"[paraimage] manifests: {run_dir.manifests}", flush=True)
    return summary


def _run_recorded(
    config: JobSettings,
    source: BaseSource,
    stages: list[Stage],
    run_id: str,
    run_dir: RunDir,
    pending: list[ShardSpec],
    finalizers: Sequence[Finalizer],
    on_manifest_written: Callable[[RunDir, Path], None] | None,
    timings: dict[str, float],
) -> tuple[RunSummary, RecoveringCollector | None]:
    """The shards, then the finalizers, then the summary of all manifests."""
    started = time.perf_counter()
    with source.session():
        collector = _process(config, source, stages, run_id, run_dir, pending,
                             on_manifest_written)
    elapsed = time.perf_counter() - started
    timings["shards"] = elapsed
    if collector is not None and collector.first_rows_at is not None:
        # start-up (Ray, the models, the pipeline's fill): a fixed cost, not a per-row one
        timings["until the first rows"] = collector.first_rows_at - started
    for index, finalize in enumerate(finalizers):
        clock = time.perf_counter()
        line = finalize(run_dir)
        # a step is named by its line ("dedup: ...", "funnel report: ...")
        name = line.split(":", 1)[0] if line and ":" in line else f"step {index + 1}"
        timings[name] = time.perf_counter() - clock
        if line:
            print(f"[paraimage] {line}", flush=True)
    clock = time.perf_counter()
    summary = summarize(run_dir.manifest_files())
    timings["summary"] = time.perf_counter() - clock
    written = set(collector.written) if collector else set()
    summary.rows_this_invocation = sum(
        shard.n_records for shard in pending if shard.shard_id in written)
    summary.seconds_this_invocation = elapsed
    return summary, collector


def write_stage_stats(dataset: Any, run_dir: RunDir) -> None:
    """Ray Data's own account of each stage (tasks, wall and CPU time, rows, memory) in
    RUN_DIR/logs/ray_data_stats.txt: where the time went, per stage."""
    try:
        text = dataset.stats()
        (run_dir.root / "logs").mkdir(exist_ok=True)
        (run_dir.root / "logs" / "ray_data_stats.txt").write_text(text)
    except Exception:  # a diagnostic: never worth failing a finished run over
        log.debug("no Ray Data stats", exc_info=True)


def _process(
    config: JobSettings,
    source: BaseSource,
    stages: list[Stage],
    run_id: str,
    run_dir: RunDir,
    pending: list[ShardSpec],
    on_manifest_written: Callable[[RunDir, Path], None] | None = None,
) -> RecoveringCollector | None:
    if not pending:
        return None
    done = [0]

    def report(shard: ShardSpec, rows: pa.Table) -> None:
        done[0] += 1
        if console.verbose():
            kept = pc.sum(pc.equal(rows.column("status"), "kept")).as_py() or 0
            print(
                f"[paraimage] shard {shard.shard_id}: {rows.num_rows} rows ({kept} kept) "
                f"[{done[0]}/{len(pending)}]",
                flush=True,
            )
        if on_manifest_written:
            try:
                on_manifest_written(run_dir, run_dir.manifest_path(shard.shard_id))
            except Exception:  # a cache for the report: never worth losing the run over
                log.warning("after writing shard %s", shard.shard_id, exc_info=True)

    collector = RecoveringCollector(pending, run_dir.manifest_path, on_written=report,
                                    spill_dir=run_dir.spill,
                                    memory_budget=int(config.ray.driver_buffer_bytes))
    collector.flush_empty()
    if collector.expected:
        init_ray(config)
        import ray

        shortage = check_resources(stages, config.ray.cpu_stage_num_cpus,
                                   ray.cluster_resources())
        if shortage:
            if config.ray.address or os.environ.get("RAY_ADDRESS"):
                # an autoscaling cluster may still grow to fit: say it, do not refuse
                log.warning("%s", shortage)
                print(f"[paraimage] warning: {shortage}", flush=True)
            else:
                raise ResourceShortageError(shortage)
        dataset = build_dataset(
            list(collector.expected.values()),
            source,
            run_id,
            stages,
            read_num_cpus=config.ray.cpu_stage_num_cpus,
        )
        nodes_before = alive_nodes()
        try:
            for batch in iter_output_batches(dataset):
                if collector.first_rows_at is None:
                    collector.first_rows_at = time.perf_counter()
                collector.add_batch(batch)
        except Exception as exc:
            if is_cluster_loss(exc):
                raise ClusterLostError(lost_cluster_message(exc, run_dir, collector)) from exc
            raise
        collector.note_nodes_lost(set(nodes_before) - set(alive_nodes()), nodes_before)
        write_stage_stats(dataset, run_dir)
        for line in collector.recovery_lines():
            print(f"[paraimage] {line}", flush=True)
    collector.check_complete()
    return collector
