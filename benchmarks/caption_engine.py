"""Captioning at the engine's limit: our stages against ray.data.llm, the ideal and
the old synchronous path, on the same images, model, prompt and sampling, in one run.

Random weights run every request to ``max_tokens``, so each image's ``max_tokens`` is
drawn once from a seeded lognormal around the target length (150 words ~ 272 tokens,
clipped to 40-400) and used by every side, like real captions whose lengths vary.
``ignore_eos`` holds every request to exactly that length.

Sides:

1. ``ours``: ``workflows.recaption.build_stages`` on Ray Data (read, probe, CPU resize,
   the async engine actor with several batches in flight), as the job runs;
2. ``ray_data_llm``: ``vLLMEngineProcessorConfig`` + ``build_processor`` on the same Ray,
   as its documentation recommends (OpenAI-style messages with the image as a data URL,
   its multimodal, chat-template and tokenize stages; on 2 cores every CPU stage asks
   for a fraction of a CPU, see docs/design-notes.md), images resized the same way;
3. ``ideal``: one process, one ``LLM.generate`` over every request at once (continuous
   batching with a full queue), decoding and resizing included;
4. ``sync``: our stages with ``captioner.engine: sync`` (one ``LLM.generate`` per
   batch), the path before the async engine, for the record.

Engine start-up is excluded on every side and reported separately: a pipeline's rate
is images / (time from its first request entering the engine, when the engine is up,
to its last row out: our caption stage stamps its batches, ``ray.data.llm``'s rows
carry each request's engine time), the ideal's is images / (decode + generate).
Medians over --repeats.

    .venv/bin/python benchmarks/caption_engine.py [--images 96] [--repeats 3]

Last lines: ``RATIO caption_vs_ray_data_llm=<x>``, ``RATIO caption_vs_ideal=<x>`` and
``RATIO caption_vs_sync=<x>``, each the median of the per-repeat ratios.
"""

from __future__ import annotations

import argparse
import base64
import io
import math
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from captioners.vllm_async import AsyncVLLMCaptioner  # noqa: E402
from captioners.vllm_backend import VLLMCaptioner  # noqa: E402

CPU_ENV = {"VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_ENABLE_V1_MULTIPROCESSING": "0"}
MIN_TOKENS, MAX_TOKENS = 40, 400
LENGTH_SIGMA = 0.5  # lognormal spread of caption lengths around the target
# The engine actor holds one CPU; every other stage shares the second core.
CPU_STAGE_CPUS = 0.1


def caption_lengths(stems: list[str], mean_tokens: int, seed: int) -> dict[str, int]:
    """Per image, the ``max_tokens`` every side uses (seeded, lognormal, clipped)."""
    lengths = {}
    for stem in stems:
        draw = random.Random(f"{seed}-{stem}").lognormvariate(math.log(mean_tokens),
                                                             LENGTH_SIGMA)
        lengths[stem] = int(min(MAX_TOKENS, max(MIN_TOKENS, round(draw))))
    return lengths


def _stem(row: dict[str, Any]) -> str:
    return Path(row["source_key"]).stem


class BenchAsyncCaptioner(AsyncVLLMCaptioner):
    """Ours, with each image's drawn length (and ``ignore_eos``)."""

    def __init__(self, lengths: dict[str, int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lengths = lengths

    def request_params(self, row, spec, retry):
        params = super().request_params(row, spec, retry)
        return {**params, "max_tokens": self.lengths[_stem(row)], "ignore_eos": True}


class BenchSyncCaptioner(VLLMCaptioner):
    """The synchronous path, each image with its drawn length."""

    def __init__(self, lengths: dict[str, int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lengths = lengths
        self.main_params = kwargs["config"].sampling_params()
        self.pending: list[int] = []

    def _plan(self, batch):
        work = super()._plan(batch)
        self.pending = [self.lengths[_stem(row)] for row in work.todo]
        return work

    def generate(self, images, retry=False, spec=None):
        import vllm
        from PIL import Image

        from captioners.vllm_backend import generation_of

        if not images:
            return []
        assert len(images) == len(self.pending), "a benchmark batch is never split"
        params = spec.params_for(retry) if spec else self.main_params
        sampling = [vllm.SamplingParams(**{**params, "max_tokens": n, "ignore_eos": True})
                    for n in self.pending]
        requests = [{"prompt": self._prompt(spec),
                     "multi_modal_data": {"image": Image.fromarray(image)}} for image in images]
        return [generation_of(o) for o in self.llm.generate(requests, sampling, use_tqdm=False)]


def make_images(folder: Path, count: int) -> list[Path]:
    from demo.sample_photos import write_sample_photos

    originals = write_sample_photos(folder / "originals", include_edge_cases=False)
    paths = []
    for index in range(count):
        original = originals[index % len(originals)]
        target = folder / "images" / f"{index:05d}{original.suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(original, target)
        paths.append(target)
    return paths


def run_ours(config, source, stages) -> tuple[float, float, int]:
    """(images/s, start-up s, output tokens) of one pipeline run: images over the time
    from the first batch entering the engine (its engine is up) to the last row out."""
    from paraimage.engine import build_dataset
    from paraimage.stage_timing import timing_columns

    start = time.time()
    dataset = build_dataset(source.plan(), source, "bench", stages,
                            config.ray.cpu_stage_num_cpus)
    entered, images, tokens, last = math.inf, 0, 0, 0.0
    first_in, _, _ = timing_columns("caption")
    for batch in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
        last = time.time()
        images += batch.num_rows
        entered = min(entered, min(batch.column(first_in).to_pylist()))
        tokens += sum(n or 0 for n in batch.column("caption_n_tokens").to_pylist())
    return images / (last - entered), entered - start, tokens


def run_ray_data_llm(model_path: str, paths: list[Path], lengths: dict[str, int],
                     prompt_text: str, image_size: int, batch_size: int, in_flight: int,
                     engine_kwargs: dict[str, Any], scheduler: dict[str, int],
                     seed: int) -> tuple[float, float, int]:
    import ray.data
    from ray.data.llm import build_processor, vLLMEngineProcessorConfig

    from captioners.prepare import resize_for_model

    config = vLLMEngineProcessorConfig(
        model_source=model_path,
        # its engine gets the scheduler sizes vLLM gives an offline engine on this device
        # (ours and the ideal's); its own default context would keep a server's 128
        engine_kwargs={**engine_kwargs, **scheduler, "seed": seed,
                       "limit_mm_per_prompt": {"image": 1}},
        batch_size=batch_size,
        concurrency=1,
        max_concurrent_batches=in_flight,  # the same requests in flight as ours
        placement_group_config={"bundles": [{"CPU": 1}]},
        log_engine_metrics=False,
        # the model's own template takes OpenAI-style content parts (image, then text)
        prepare_multimodal_stage={"enabled": True, "num_cpus": CPU_STAGE_CPUS,
                                  "chat_template_content_format": "openai"},
        chat_template_stage={"enabled": True, "num_cpus": CPU_STAGE_CPUS},
        tokenize_stage={"enabled": True, "num_cpus": CPU_STAGE_CPUS},
        detokenize_stage={"enabled": True, "num_cpus": CPU_STAGE_CPUS},
    )

    def preprocess(row: dict[str, Any]) -> dict[str, Any]:
        from PIL import Image

        pixels = resize_for_model(Path(row["path"]).read_bytes(), image_size, 89_478_485)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="JPEG", quality=95)
        url = "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()
        return {
            "messages": [{"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": url}},
                {"type": "text", "text": prompt_text}]}],
            "sampling_params": {"temperature": 0.0, "seed": seed, "ignore_eos": True,
                                "max_tokens": int(row["max_tokens"])},
        }

    processor = build_processor(
        config, preprocess=preprocess,
        postprocess=lambda row: {"n_tokens": row["num_generated_tokens"],
                                 "seconds": row["time_taken_llm"]},
        preprocess_map_kwargs={"num_cpus": CPU_STAGE_CPUS},
        postprocess_map_kwargs={"num_cpus": CPU_STAGE_CPUS},
    )
    items = [{"path": str(p), "max_tokens": lengths[p.stem]} for p in paths]
    start = time.time()
    dataset = processor(ray.data.from_items(items))
    # Its rows say how long each request took in the engine (``time_taken_llm``): the
    # first request began no later than its row's arrival minus that.
    entered, images, tokens, last = math.inf, 0, 0, 0.0
    for batch in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
        last = time.time()
        images += batch.num_rows
        entered = min(entered, last - max(batch.column("seconds").to_pylist()))
        tokens += sum(batch.column("n_tokens").to_pylist())
    return images / (last - entered), entered - start, tokens


def run_ideal(llm, prompt: str, paths: list[Path], lengths: dict[str, int],
              params: dict[str, Any], image_size: int) -> tuple[float, int]:
    import vllm
    from PIL import Image

    from captioners.prepare import resize_for_model

    start = time.perf_counter()
    requests = [{"prompt": prompt, "multi_modal_data": {"image": Image.fromarray(
        resize_for_model(p.read_bytes(), image_size, 89_478_485))}} for p in paths]
    sampling = [vllm.SamplingParams(**{**params, "max_tokens": lengths[p.stem],
                                       "ignore_eos": True}) for p in paths]
    outputs = llm.generate(requests, sampling, use_tqdm=False)
    seconds = time.perf_counter() - start
    return len(paths) / seconds, sum(len(o.outputs[0].token_ids) for o in outputs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=96)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--batches-in-flight", type=int, default=None)
    parser.add_argument("--target-words", type=int, default=150)
    parser.add_argument("--sides", default="ours,ray_data_llm,ideal,sync")
    parser.add_argument("--model", help="hub id or path (default: the tiny random LLaVA)")
    parser.add_argument("--max-num-seqs", type=int,
                        help="engine_kwargs.max_num_seqs on every side (default: vLLM's)")
    parser.add_argument("--max-num-batched-tokens", type=int,
                        help="engine_kwargs.max_num_batched_tokens on every side")
    args = parser.parse_args()
    for key, value in CPU_ENV.items():
        os.environ.setdefault(key, value)
    # Ray gives an engine actor OMP_NUM_THREADS = its num_cpus (1); the ideal's engine
    # gets the same, or the comparison measures thread counts instead.
    os.environ["OMP_NUM_THREADS"] = "1"
    sides = args.sides.split(",")

    import ray
    import vllm
    from transformers import AutoProcessor

    from captioners.model_source import ResolvedModel, model_image_size
    from captioners.tiny_llava import build_tiny_llava
    from captioners.vllm_backend import build_prompt
    from curation.folder import FolderSource, FolderSourceConfig
    from paraimage.runner import init_ray
    from paraimage.stage_timing import timed
    from workflows.config import JobConfig
    from workflows.recaption import build_stages

    work = Path(tempfile.mkdtemp(prefix="caption-engine-"))
    model_path = args.model or str(build_tiny_llava(work / "tiny-llava"))
    paths = make_images(work, args.images)
    engine_kwargs: dict[str, Any] = {"dtype": "float32", "enforce_eager": True,
                                     "max_model_len": 2048}
    if args.max_num_seqs:
        engine_kwargs["max_num_seqs"] = args.max_num_seqs
    if args.max_num_batched_tokens:
        engine_kwargs["max_num_batched_tokens"] = args.max_num_batched_tokens

    def job_config(engine: str):
        return JobConfig.model_validate({
            "run": {"name": "bench", "output_dir": str(work / "runs")},
            "sources": [{"kind": "folder", "path": str(work / "images"),
                         "shard_size": args.batch_size}],
            "captioner": {
                "model": model_path, "target_words": args.target_words, "engine": engine,
                "batch_size": args.batch_size, "num_gpus": 0, "num_cpus": 1,
                "max_concurrent_batches": args.batches_in_flight,
                "engine_kwargs": engine_kwargs, "env": CPU_ENV,
            },
            "stats": {"enabled": False},
            "ray": {"num_cpus": 2, "cpu_stage_num_cpus": 0.25,
                    "cpu_batch_size": args.batch_size},
        })

    config = job_config("async")
    mean_tokens = config.captioner.max_tokens
    lengths = caption_lengths([p.stem for p in paths], mean_tokens, seed=0)
    image_size = model_image_size(model_path)
    model = ResolvedModel(model_path, model_path)
    source = FolderSource(FolderSourceConfig(**config.sources[0].model_dump()))

    def stages_with(cls, engine: str):
        job = job_config(engine)
        stages = build_stages(job, model, image_size)
        caption = next(s for s in stages if s.name == "caption")
        index = stages.index(caption)
        from dataclasses import replace

        stages[index] = timed(replace(caption, cls=cls,
                                      constructor_kwargs={**caption.constructor_kwargs,
                                                          "lengths": lengths}))
        return job, stages

    results: dict[str, dict[str, list[float]]] = {s: {"rate": [], "start": [], "tokens": []}
                                                  for s in sides}
    # What vLLM's offline context picks on this device, and the batches that keep it full
    # (the async actor works on this many of the batches Ray hands it).
    from vllm.usage.usage_lib import UsageContext

    resolved = vllm.AsyncEngineArgs(model=model_path, **engine_kwargs).create_engine_config(
        UsageContext.LLM_CLASS).scheduler_config
    scheduler = {"max_num_seqs": resolved.max_num_seqs,
                 "max_num_batched_tokens": resolved.max_num_batched_tokens}
    from captioners.config import batches_for

    in_flight = args.batches_in_flight or batches_for(resolved.max_num_seqs, args.batch_size)
    init_ray(config)
    if "ideal" in sides:
        processor = AutoProcessor.from_pretrained(model_path)
        prompt = build_prompt(processor, config.captioner.prompt_text)
        start = time.perf_counter()
        llm = vllm.LLM(model=model_path, seed=0, limit_mm_per_prompt={"image": 1},
                       **engine_kwargs)
        results["ideal"]["start"].append(time.perf_counter() - start)
    for repeat in range(args.repeats):
        line = []
        for side in sides:
            if side == "ours" or side == "sync":
                cls = BenchAsyncCaptioner if side == "ours" else BenchSyncCaptioner
                job, stages = stages_with(cls, "async" if side == "ours" else "sync")
                rate, first, tokens = run_ours(job, source, stages)
            elif side == "ray_data_llm":
                rate, first, tokens = run_ray_data_llm(
                    model_path, paths, lengths, config.captioner.prompt_text, image_size,
                    args.batch_size, in_flight, engine_kwargs, scheduler, seed=0)
            else:
                rate, tokens = run_ideal(llm, prompt, paths, lengths,
                                         config.captioner.sampling_params(), image_size)
                first = float("nan")
            results[side]["rate"].append(rate)
            results[side]["tokens"].append(tokens)
            if side != "ideal":
                results[side]["start"].append(first)
            line.append(f"{side} {rate:.2f} images/s")
        print(f"repeat {repeat + 1}/{args.repeats}: " + ", ".join(line), flush=True)
    ray.shutdown()
    shutil.rmtree(work, ignore_errors=True)

    total_tokens = sum(lengths.values())
    print(f"images: {args.images}, batch size: {args.batch_size}, batches in flight: "
          f"{in_flight}, engine scheduler: {scheduler}, output tokens: {total_tokens} "
          f"(mean {total_tokens / len(paths):.0f}, {MIN_TOKENS}-{MAX_TOKENS}), model: "
          f"{model_path}")
    print("| side | images/s (median) | output tokens/s | runs | start-up s (median) |")
    print("|---|---:|---:|---|---:|")
    medians = {}
    for side in sides:
        rate = statistics.median(results[side]["rate"])
        medians[side] = rate
        start_up = statistics.median(results[side]["start"]) if results[side]["start"] else 0
        runs = " / ".join(f"{r:.2f}" for r in results[side]["rate"])
        print(f"| {side} | {rate:.2f} | {rate * total_tokens / len(paths):.0f} | {runs} | "
              f"{start_up:.1f} |")
    for side in sides:
        assert all(t == total_tokens for t in results[side]["tokens"]), (
            side, results[side]["tokens"], total_tokens)
    # Sides run back to back within a repeat, so a repeat's ratio shares its load: the
    # median of the per-repeat ratios is steadier than a ratio of medians on a busy host.
    for name, other in (("caption_vs_ray_data_llm", "ray_data_llm"), ("caption_vs_ideal", "ideal"),
                        ("caption_vs_sync", "sync")):
        if "ours" in medians and other in medians:
            paired = [a / b for a, b in zip(results["ours"]["rate"], results[other]["rate"],
                                            strict=True)]
            print(f"{name}: per repeat {' / '.join(f'{r:.3f}' for r in paired)}, "
                  f"of medians {medians['ours'] / medians[other]:.3f}")
            print(f"RATIO {name}={statistics.median(paired):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
