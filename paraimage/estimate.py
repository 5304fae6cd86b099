"""What a whole run will cost, from the configured stages run on a sample of its inputs.

``measure`` reads the timed rows of a sample run (``stage_timing.py``): per stage, rows
per second over the interval it was busy; per captioner, requests, output tokens and
their rate, mean prompt and output tokens and finish reasons; the share of inputs each
status and reason took. ``project`` scales that to the plan: the pipeline streams, so
the whole run goes at its slowest stage's rate (plus the start-up the sample paid
once), and GPU-hours are that wall time times the GPUs the stages hold.

What it does not see: run-level steps after the shards (dedup, funnel, statistics
report: seconds to minutes, scanning manifests), and downloads' network, which on a
cluster differs from a sample's. Both are said in the printout.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from paraimage.stage_timing import timing_columns


@dataclass(frozen=True)
class StageRate:
    name: str
    rows: int
    seconds: float
    actors: int = 0  # actor-pool size (0: CPU tasks)
    gpus: float = 0.0  # GPUs the pool holds in all

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else math.inf


@dataclass(frozen=True)
class CaptionerUse:
    """One captioner's requests in the sample (its main caption and variants)."""

    captioner: str
    stage: str
    requests: int
    output_tokens: int
    prompt_tokens: int
    seconds: float
    finish_reasons: dict[str, int]

    @property
    def output_tokens_per_second(self) -> float:
        return self.output_tokens / self.seconds if self.seconds > 0 else math.inf


@dataclass
class Estimate:
    planned_inputs: int
    sampled_inputs: int
    stages: list[StageRate]
    captioners: list[CaptionerUse]
    statuses: dict[str, int]
    reasons: dict[str, int]
    start_up_seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def bottleneck(self) -> StageRate:
        return min(self.stages, key=lambda s: s.rows_per_second)

    @property
    def projected_seconds(self) -> float:
        return self.start_up_seconds + self.planned_inputs / self.bottleneck.rows_per_second

    @property
    def gpus(self) -> float:
        return sum(stage.gpus for stage in self.stages)

    @property
    def gpu_hours(self) -> float:
        return self.projected_seconds / 3600 * self.gpus

    def share(self, status: str) -> float:
        return self.statuses.get(status, 0) / self.sampled_inputs if self.sampled_inputs else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "stages": [{**asdict(s), "rows_per_second": s.rows_per_second} for s in self.stages],
            "captioners": [{**asdict(c), "output_tokens_per_second": c.output_tokens_per_second}
                           for c in self.captioners],
            "bottleneck": self.bottleneck.name,
            "projected_seconds": self.projected_seconds,
            "gpus": self.gpus,
            "gpu_hours": self.gpu_hours,
        }


def measure(
    rows: Sequence[Mapping[str, Any]],
    stages: Sequence[tuple[str, int, float]],
    captioner_stages: Mapping[str, str],
    planned_inputs: int,
    start_up_seconds: float,
) -> Estimate:
    """``stages``: (name, actors, GPUs held) in pipeline order; ``captioner_stages``:
    captioner label (``caption_variants.captioner``) -> its stage."""
    rates = []
    for name, actors, gpus in stages:
        start, end, _ = timing_columns(name)
        starts = [row[start] for row in rows if row.get(start) is not None]
        ends = [row[end] for row in rows if row.get(end) is not None]
        seconds = max(ends) - min(starts) if starts else 0.0
        rates.append(StageRate(name, len(starts), seconds, actors, gpus))
    by_stage = {rate.name: rate for rate in rates}
    uses = []
    for label, stage in captioner_stages.items():
        entries = [v for row in rows for v in (row.get("caption_variants") or [])
                   if v.get("captioner") == label]
        _, _, prompt_column = timing_columns(stage)
        uses.append(CaptionerUse(
            captioner=label,
            stage=stage,
            requests=sum(1 for v in entries if v.get("status") != "error"),
            output_tokens=sum(v.get("n_tokens") or 0 for v in entries),
            prompt_tokens=round(sum(row.get(prompt_column) or 0 for row in rows)),
            seconds=by_stage[stage].seconds if stage in by_stage else 0.0,
            finish_reasons=dict(Counter(v.get("finish_reason") or v.get("status")
                                        for v in entries)),
        ))
    statuses = Counter(row["status"] for row in rows)
    reasons = Counter(
        row.get("reject_reason") or (row.get("error") or "").split(":")[0]
        for row in rows if row["status"] != "kept"
    )
    return Estimate(planned_inputs, len(rows), rates, uses, dict(statuses), dict(reasons),
                    start_up_seconds)


def format_estimate(estimate: Estimate) -> str:
    lines = [f"sample: {estimate.sampled_inputs} of {estimate.planned_inputs} planned inputs; "
             f"start-up (to the first output) {estimate.start_up_seconds:.1f} s"]
    lines.append("| stage | rows | busy s | rows/s | pool |")
    lines.append("|---|---:|---:|---:|---|")
    for stage in estimate.stages:
        pool = (f"{stage.actors} actor(s)" + (f", {stage.gpus:g} GPU" if stage.gpus else "")
                if stage.actors else "CPU tasks")
        lines.append(f"| {stage.name} | {stage.rows} | {stage.seconds:.2f} | "
                     f"{stage.rows_per_second:.2f} | {pool} |")
    for use in estimate.captioners:
        mean_out = use.output_tokens / use.requests if use.requests else 0.0
        mean_prompt = use.prompt_tokens / use.requests if use.requests else 0.0
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(use.finish_reasons.items(),
                                                          key=lambda kv: -kv[1]))
        lines.append(
            f"captioner {use.captioner} ({use.stage}): {use.requests} requests, "
            f"{use.output_tokens_per_second:.1f} output tokens/s, mean prompt "
            f"{mean_prompt:.0f} and output {mean_out:.0f} tokens; finish reasons: {reasons}")
    kept, rejected, error = (estimate.share(s) for s in ("kept", "rejected", "error"))
    lines.append(f"the sample's inputs: {100 * kept:.1f}% kept, {100 * rejected:.1f}% "
                 f"rejected, {100 * error:.1f}% error")
    top = sorted(estimate.reasons.items(), key=lambda kv: -kv[1])[:5]
    if top:
        lines.append("  top reasons: " + ", ".join(f"{k} {v}" for k, v in top))
    hours = estimate.projected_seconds / 3600
    lines.append(
        f"projection for {estimate.planned_inputs} inputs: {_duration(estimate.projected_seconds)}"
        f" ({hours:.2f} h) at the {estimate.bottleneck.name} stage's "
        f"{estimate.bottleneck.rows_per_second:.2f} rows/s"
        + (f", {estimate.gpu_hours:.2f} GPU-hours on {estimate.gpus:g} GPU(s)"
           if estimate.gpus else ", no GPU held"))
    lines.extend(f"note: {note}" for note in estimate.notes)
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [f"{days}d"] * bool(days) + [f"{hours}h"] * bool(hours or days)
    return " ".join([*parts, f"{minutes}m", f"{secs}s"])
