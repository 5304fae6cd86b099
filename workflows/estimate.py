"""``paraimage estimate``: what a run will cost, before a cluster's day is spent on it.

    paraimage estimate --config configs/paraimage_big.yaml --images 500
    paraimage estimate --config configs/demo.yaml --images 16 --set captioner.batch_size=4

Plans the config's sources as the job would, runs the job's own stages (decode, the
filters, every captioner, statistics) on a seeded sample of whole planned shards
holding at least ``--images`` inputs, on the configured resources (the same Ray,
pools and batch sizes), and prints per stage rows/s, per captioner output tokens/s,
mean prompt and output tokens and finish reasons, the statuses the sample's inputs
got, and the projection: wall time and GPU-hours of the whole plan. Nothing is
written to the manifests; the figures go to ``RUN_DIR/estimate.json`` as well, where
``paraimage status`` puts them beside the run's actual figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from captioners.model_source import prepare_captioner  # noqa: E402
from curation.base import ShardSpec  # noqa: E402
from curation.registry import build_sources  # noqa: E402
from paraimage.engine import (  # noqa: E402
    ActorStage,
    build_dataset,
    check_resources,
    iter_output_rows,
)
from paraimage.errors import EXIT_USER_ERROR, UserError  # noqa: E402
from paraimage.estimate import Estimate, format_estimate, measure  # noqa: E402
from paraimage.runner import init_ray  # noqa: E402
from paraimage.stage_timing import timed  # noqa: E402
from workflows.config import JobConfig, load_config  # noqa: E402
from workflows.recaption import build_stages  # noqa: E402

ESTIMATE_FILE = "estimate.json"
DEFAULT_SAMPLE_IMAGES = 200


def sample_shards(shards: Sequence[ShardSpec], images: int, seed: int) -> list[ShardSpec]:
    """Whole shards, in a seeded random order, until they hold ``images`` inputs."""
    order = list(shards)
    random.Random(seed).shuffle(order)
    picked, total = [], 0
    for shard in order:
        if total >= images:
            break
        picked.append(shard)
        total += shard.n_records
    return picked


def captioner_labels(config: JobConfig, names: Sequence[str]) -> dict[str, str]:
    """``caption_variants.captioner`` label -> stage name, for every captioner."""
    labels = {config.captioner.name or names[0]: "caption"}
    for extra, name in zip(config.extra_captioners, names[1:], strict=True):
        labels[extra.name or name] = f"caption-{extra.name or extra.model}"
    return labels


def estimate(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config, args.overrides)
        source = build_sources(config.sources)
        model, image_size = prepare_captioner(config.captioner)
        extra_models = [prepare_captioner(extra)[0] for extra in config.extra_captioners]
        shards = source.plan()
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    if model.note:
        print(f"[paraimage] note: {model.note}", flush=True)
    planned = sum(shard.n_records for shard in shards)
    sample = sample_shards(shards, args.images, args.seed)
    stages = build_stages(config, model, image_size, extra_models)
    print(f"[paraimage] estimate: {sum(s.n_records for s in sample)} inputs in "
          f"{len(sample)} of {len(shards)} planned shards ({planned} inputs)", flush=True)
    init_ray(config)
    import ray

    # the job's own check: a pipeline that cannot fit would wait forever, here as there
    shortage = check_resources(stages, config.ray.cpu_stage_num_cpus, ray.cluster_resources())
    if shortage and not (config.ray.address or os.environ.get("RAY_ADDRESS")):
        print(f"error: {shortage}", file=sys.stderr)
        return EXIT_USER_ERROR
    if shortage:
        print(f"[paraimage] warning: {shortage}", flush=True)
    started = time.time()
    first_output = None
    rows = []
    with source.session():
        dataset = build_dataset(sample, source, f"{config.run.name}-estimate",
                                [timed(stage) for stage in stages],
                                config.ray.cpu_stage_num_cpus)
        for row in iter_output_rows(dataset):
            first_output = first_output or time.time()
            rows.append(row)
    result = measure(
        rows,
        [(s.name, s.concurrency if isinstance(s, ActorStage) else 0,
          s.concurrency * s.num_gpus if isinstance(s, ActorStage) else 0.0) for s in stages],
        captioner_labels(config, [model.name, *(m.name for m in extra_models)]),
        planned,
        (first_output or time.time()) - started,
    )
    result.notes += [
        "the run-level steps after the shards (dedup, funnel, statistics report) scan the "
        "manifests once each and are not in the projection",
        "start-up is paid once per invocation; downloads go at the sample's network speed",
    ]
    print(format_estimate(result), flush=True)
    path = write_estimate(config, result, args)
    print(f"[paraimage] estimate: {path}", flush=True)
    return 0


def write_estimate(config: JobConfig, result: Estimate, args: argparse.Namespace) -> Path:
    path = config.run.directory / ESTIMATE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"fingerprint": config.fingerprint(), "images_asked": args.images,
                "seed": args.seed, "created": time.time(), **result.to_dict()}
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    return path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "estimate", help="run the config's stages on a sample and project the whole run",
        description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, type=Path, help="the job's YAML config")
    parser.add_argument("--images", type=int, default=DEFAULT_SAMPLE_IMAGES,
                        help="inputs to sample (whole shards, at least this many)")
    parser.add_argument("--seed", type=int, default=0, help="which shards are sampled")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY.PATH=VALUE", help="override a config value, repeatable")
    parser.set_defaults(func=estimate)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="estimate")
    subparsers = parser.add_subparsers()
    register(subparsers)
    return estimate(parser.parse_args(["estimate", *(argv or sys.argv[1:])]))


if __name__ == "__main__":
    sys.exit(main())
