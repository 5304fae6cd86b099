"""The recaption job: read a source, decode, caption with a VLM, write manifests.

    python workflows/recaption.py --config configs/demo.yaml
    ray job submit --working-dir . -- python workflows/recaption.py --config CONFIG

This file only wires stages together; each stage lives in its package.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script (also under `ray job submit`)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from captioners.config import AnyCaptionerConfig  # noqa: E402
from captioners.model_source import (  # noqa: E402
    ResolvedModel,
    prepare_captioner,
)
from captioners.prepare import CaptionImagePrep  # noqa: E402
from captioners.registry import batches_in_flight, captioner_class  # noqa: E402
from curation.download_report import write_download_summary  # noqa: E402
from curation.probe import ProbeStage  # noqa: E402
from curation.registry import build_sources  # noqa: E402
from filters import write_funnel_report  # noqa: E402
from filters.dedup_apply import apply_dedup  # noqa: E402
from filters.stages import AestheticStage, FilterChainStage  # noqa: E402
from paraimage.console import job_console  # noqa: E402
from paraimage.engine import (  # noqa: E402
    ActorStage,
    Stage,
)
from paraimage.errors import EXIT_USER_ERROR, UserError  # noqa: E402
from paraimage.ray_session import (  # noqa: E402
    check_reachable,
    requested_address,
)
from paraimage.recovery import ClusterLostError  # noqa: E402
from paraimage.row_stage import RowStage, fused_stage  # noqa: E402
from paraimage.run_record import Stopped, is_sigterm_exit, stop_on_sigterm  # noqa: E402
from paraimage.rundir import RunDir, check_writable  # noqa: E402
from paraimage.runner import Finalizer, run_job  # noqa: E402
from paraimage.summary import RunSummary  # noqa: E402
from stats.heap import RETAINED_HEAP_ENV  # noqa: E402
from stats.report import write_run_report  # noqa: E402
from stats.rollups import write_rollups  # noqa: E402
from stats.text_stats import CaptionStats  # noqa: E402
from workflows.config import JobConfig, load_config  # noqa: E402
from workflows.runview.closing import closing_lines  # noqa: E402

EXIT_CLUSTER_LOST = 3  # the cluster lost what Ray cannot rebuild: rerun to resume
EXIT_STOPPED = 128 + 15  # as a shell reports a process ended by SIGTERM


def captioner_stage(
    captioner: AnyCaptionerConfig, model: ResolvedModel, primary: bool, last: bool
) -> ActorStage:
    return ActorStage(
        "caption" if primary else f"caption-{captioner.name or captioner.model}",
        captioner_class(captioner),
        {"config": captioner, "model_path": model.path, "model_name": model.name,
         "primary": primary, "drop_images": last},
        concurrency=captioner.concurrency,
        num_cpus=captioner.num_cpus,
        num_gpus=captioner.num_gpus,
        batch_size=captioner.batch_size,
        max_concurrency=batches_in_flight(captioner),
    )


def build_stages(
    config: JobConfig,
    model: ResolvedModel,
    image_size: int,
    extra_models: Sequence[ResolvedModel] = (),
) -> list[Stage]:
    cpu = {"num_cpus": config.ray.cpu_stage_num_cpus, "batch_size": config.ray.cpu_batch_size}
    max_pixels = config.decode.max_pixels
    captioner = config.captioner
    filters = config.filters
    cpu_filters = filters.cpu_chain()
    # one CPU task decodes each image once for the probe, the filters and the caption
    # image (paraimage/row_stage.py); the aesthetic actor, when on, splits that task
    image: list[tuple[str, RowStage]] = [("probe", ProbeStage(max_pixels))]
    if cpu_filters:
        image.append(("filters", FilterChainStage(cpu_filters, max_pixels)))
    prepare = ("prepare", CaptionImagePrep(image_size, max_pixels))
    stages: list[Stage] = [fused_stage([*image, prepare], **cpu)]
    if filters.enabled("aesthetic"):
        stages = [
            fused_stage(image, **cpu),
            ActorStage(
                "aesthetic",
                AestheticStage,
                {"config": filters.aesthetic, "max_pixels": max_pixels},
                concurrency=filters.aesthetic_concurrency,
                num_cpus=config.ray.cpu_stage_num_cpus,
                num_gpus=filters.aesthetic_num_gpus,
                batch_size=filters.aesthetic.batch_size,
            ),
            fused_stage([prepare], **cpu),
        ]
    return [
        *stages,
        captioner_stage(captioner, model, primary=True, last=not config.extra_captioners),
        *(
            captioner_stage(extra, extra_model, primary=False,
                            last=index == len(config.extra_captioners) - 1)
            for index, (extra, extra_model) in enumerate(
                zip(config.extra_captioners, extra_models, strict=True)
            )
        ),
        *(
            [
                ActorStage(
                    "stats",
                    CaptionStats,
                    concurrency=config.stats.concurrency,
                    num_cpus=config.stats.num_cpus,
                    batch_size=config.stats.batch_size,
                    env_vars=RETAINED_HEAP_ENV,
                )
            ]
            if config.stats.enabled
            else []
        ),
    ]


def build_finalizers(config: JobConfig) -> list[Finalizer]:
    """Run-level steps over all manifests, after the shards."""
    steps: list[Finalizer] = []
    if config.downloads:
        steps.append(lambda run_dir: write_download_summary(run_dir.root))
    # DuckDB's share in the driver's steps over all rows, which spill past it
    memory_limit = f"{int(config.ray.run_level_memory) // 2**20}MiB"
    dedup = config.filters.enabled("dedup")
    if dedup:
        steps.append(
            lambda run_dir: apply_dedup(
                run_dir.root, dedup.max_hamming, reject=dedup.mode == "on",
                memory_limit=memory_limit,
            ).describe()
        )
    if config.filters.order:
        order = config.funnel_order
        steps.append(
            lambda run_dir: f"funnel report: {write_funnel_report(run_dir.root, order)}"
        )
    if config.stats.enabled:
        steps.append(lambda run_dir: "statistics report: "
                     f"{write_run_report(run_dir.root, memory_limit=memory_limit)}")
    return steps


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="job YAML (see configs/)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY.PATH=VALUE",
        help="override a config value (YAML syntax), repeatable",
    )
    parser.add_argument(
        "--verbose", action="store_true",
        help="show every library's output (else in RUN_DIR/logs/) and a line per shard",
    )




def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config, args.overrides)
        check_writable(config.run.directory)
        # a wrong address would leave ray.init retrying, silent, after the model loads
        check_reachable(requested_address(config.ray.address))
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    # each shard's statistics are rolled up as it is written, so the report at the end
    # reads rollups, not every row again
    rollup = ((lambda run_dir, manifest: write_rollups(run_dir.root, [manifest]))
              if config.stats.enabled else None)
    error: Exception | None = None
    try:
        # the run directory is held first: a second job on it stops before any work.
        # Quiet unless --verbose: the libraries' output goes to RUN_DIR/logs/, one
        # progress view; errors are printed once the console is back
        with (stop_on_sigterm(), RunDir(config.run.directory).locked(),
              job_console(config.run.directory, args.verbose, rollup) as on_manifest_written):
            try:
                summary = prepare_and_run(config, on_manifest_written)
            except (UserError, ClusterLostError) as exc:  # a run that cannot start or go on
                error = exc
    except UserError as exc:  # the run directory is held by another run
        error = exc
    except (Stopped, SystemExit) as stopped:
        if isinstance(stopped, SystemExit) and not is_sigterm_exit(stopped):
            raise
        print("[paraimage] stopped by SIGTERM: run the same command again to resume "
              "(complete shards are kept)", file=sys.stderr, flush=True)
        return EXIT_STOPPED
    if isinstance(error, ClusterLostError):
        print(f"error: {error}", file=sys.stderr)
        return EXIT_CLUSTER_LOST
    if error is not None:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    for line in closing_lines(config.run.directory, summary):  # the report, what to look at
        print(f"[paraimage] {line}", flush=True)
    return 0 if summary.reconciles else 1


def prepare_and_run(config: JobConfig,
                    on_manifest_written: Callable[[RunDir, Path], None] | None) -> RunSummary:
    source = build_sources(config.sources)
    model, image_size = prepare_captioner(config.captioner)
    # every model is checked before any shard: one that cannot load stops the run
    extra_models = [prepare_captioner(extra)[0] for extra in config.extra_captioners]
    if model.note:
        print(f"[paraimage] note: {model.note}", flush=True)
    return run_job(
        config,
        source,
        build_stages(config, model, image_size, extra_models),
        finalizers=build_finalizers(config),
        on_manifest_written=on_manifest_written,
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("run", help="run the recaption job of a config")
    add_arguments(parser)
    parser.set_defaults(func=run)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
