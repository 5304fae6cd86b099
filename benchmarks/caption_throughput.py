"""Captioning throughput: the pipeline's stages on Ray Data vs a bare vLLM loop.

Both sides caption the same image files with the same model, prompt (the model's chat
template), sampling and batch size, in one process run:

* pipeline: ``workflows.recaption.build_stages`` on Ray Data (read, probe, CPU resize,
  engine actor), rows pulled by the driver as the runner does;
* bare: decode each file with PIL and call ``vllm.LLM.generate`` batch by batch.

Engine start-up differs in kind (an actor vs in-process) and is excluded on both
sides: throughput is steady state, (images after the first batch) / (time from the
first batch's results to the last). Medians over --repeats.

    .venv/bin/python benchmarks/caption_throughput.py [--images 96] [--repeats 3]

Last line: ``RATIO caption_pipeline_vs_bare=<pipeline images/s / bare images/s>``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CPU_ENV = {"VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_ENABLE_V1_MULTIPROCESSING": "0"}


def steady_rate(arrivals: list[tuple[float, int]]) -> float:
    """Images/s from (time, n_images) arrivals, excluding the first arrival."""
    if len(arrivals) < 2:
        raise ValueError("need at least two batches to measure a steady rate")
    arrivals.sort()
    images = sum(n for _, n in arrivals[1:])
    return images / (arrivals[-1][0] - arrivals[0][0])


def make_images(folder: Path, count: int) -> list[Path]:
    from demo.sample_photos import write_sample_photos

    originals = write_sample_photos(folder / "originals", include_edge_cases=False)
    paths = []
    for index in range(count):
        target = folder / "images" / f"{index:05d}{originals[index % len(originals)].suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(originals[index % len(originals)], target)
        paths.append(target)
    return paths


def run_bare(llm, prompt: str, sampling, paths: list[Path], batch_size: int) -> float:
    from PIL import Image

    arrivals = []
    for start in range(0, len(paths), batch_size):
        batch = paths[start : start + batch_size]
        requests = [
            {"prompt": prompt, "multi_modal_data": {"image": Image.open(p).convert("RGB")}}
            for p in batch
        ]
        llm.generate(requests, sampling, use_tqdm=False)
        arrivals.append((time.perf_counter(), len(batch)))
    return steady_rate(arrivals)


def run_pipeline(config, source, stages) -> float:
    from paraimage.engine import build_dataset

    shards = source.plan()
    dataset = build_dataset(shards, source, "bench", stages, config.ray.cpu_stage_num_cpus)
    arrivals = []
    for batch in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
        arrivals.append((time.perf_counter(), batch.num_rows))
    return steady_rate(arrivals)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=96)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--target-words", type=int, default=150)
    parser.add_argument("--model", help="hub id or path (default: the tiny random LLaVA)")
    args = parser.parse_args()
    for key, value in CPU_ENV.items():
        os.environ.setdefault(key, value)
    # Ray gives the engine actor OMP_NUM_THREADS = its num_cpus (1 here); the bare engine
    # gets the same thread count, or the comparison measures thread contention instead.
    os.environ["OMP_NUM_THREADS"] = "1"

    import ray
    import vllm
    from transformers import AutoProcessor

    from captioners.model_source import ResolvedModel, model_image_size
    from captioners.tiny_llava import build_tiny_llava
    from captioners.vllm_backend import build_prompt
    from curation.folder import FolderSource, FolderSourceConfig
    from paraimage.runner import init_ray
    from workflows.config import JobConfig
    from workflows.recaption import build_stages

    work = Path(tempfile.mkdtemp(prefix="caption-bench-"))
    model_path = args.model or str(build_tiny_llava(work / "tiny-llava"))
    paths = make_images(work, args.images)
    config = JobConfig.model_validate({
        "run": {"name": "bench", "output_dir": str(work / "runs")},
        "sources": [{"kind": "folder", "path": str(work / "images"),
                     "shard_size": args.batch_size}],
        "captioner": {
            "model": model_path, "target_words": args.target_words,
            "batch_size": args.batch_size, "num_gpus": 0, "num_cpus": 1,
            "engine_kwargs": {"dtype": "float32", "enforce_eager": True,
                              "max_model_len": 2048},
            "env": CPU_ENV,
        },
        "stats": {"enabled": False},  # captioning only: statistics have their own benchmark
        "ray": {"num_cpus": 2, "cpu_stage_num_cpus": 0.25, "cpu_batch_size": args.batch_size},
    })
    source = FolderSource(FolderSourceConfig(**config.sources[0].model_dump()))
    model = ResolvedModel(model_path, model_path)
    stages = build_stages(config, model, model_image_size(model_path))

    processor = AutoProcessor.from_pretrained(model_path)
    prompt = build_prompt(processor, config.captioner.prompt_text)
    llm = vllm.LLM(model=model_path, seed=config.captioner.sampling.seed,
                   limit_mm_per_prompt={"image": 1}, **config.captioner.engine_kwargs)
    sampling = vllm.SamplingParams(**config.captioner.sampling_params())
    init_ray(config)

    bare_rates, pipeline_rates = [], []
    for repeat in range(args.repeats):
        bare_rates.append(run_bare(llm, prompt, sampling, paths, args.batch_size))
        pipeline_rates.append(run_pipeline(config, source, stages))
        print(f"repeat {repeat + 1}/{args.repeats}: bare {bare_rates[-1]:.2f} images/s, "
              f"pipeline {pipeline_rates[-1]:.2f} images/s", flush=True)
    ray.shutdown()
    shutil.rmtree(work, ignore_errors=True)

    bare, pipeline = statistics.median(bare_rates), statistics.median(pipeline_rates)
    print(f"images: {args.images}, batch size: {args.batch_size}, "
          f"max_tokens: {config.captioner.max_tokens}, model: {model_path}")
    print(f"bare vllm.LLM.generate loop: {bare:.2f} images/s (median of {args.repeats})")
    print(f"pipeline caption stages:     {pipeline:.2f} images/s (median of {args.repeats})")
    print(f"RATIO caption_pipeline_vs_bare={pipeline / bare:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
