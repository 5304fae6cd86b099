"""What to look at first: the run's problems as sentences with what to change, the
biggest share first. The console's last lines print the first; the report lists all,
each linked to its example rows."""

from __future__ import annotations

import re
from dataclasses import dataclass

from paraimage.summary import RunSummary

# caption QA flag -> (what happened, what to change)
FLAG_ADVICE = {
    "truncated": ("truncated", "raise max_tokens (captioner.sampling.max_tokens) or lower "
                  "captioner.target_words"),
    "repetitive": ("repetitive", "raise captioner.sampling.repetition_penalty, or set "
                   "captioner.qa.policies.repetitive: retry"),
    "refusal": ("refusals", "check the prompt, the model and the images refused"),
    "prompt_leak": ("echo the prompt", "check the prompt and the model's chat template"),
    "off_length": ("off length", "adjust captioner.target_words or "
                   "captioner.qa.off_length_tolerance"),
    "non_english": ("not in English", "check the model and the prompt's language"),
    "empty": ("empty", "check the model (a random-weight model gives noise)"),
}
# error kind prefix -> what to change
ERROR_ADVICE = {
    "download_": "check the URLs, the network and download.timeout_s / retries",
    "decode_": "broken or unusual files in the source: see the examples",
    "caption_": "see the captioner's errors in the examples",
}
REJECT_ADVICE = "judge its threshold by eye in the rejected gallery"


@dataclass(frozen=True)
class Finding:
    share: float  # of the rows (or captions) it concerns
    text: str
    link: str  # anchor in the report
    flag: str | None = None  # a caption flag: the report's gallery filter to set
    rank: int = 0  # ties of share: flags (truncated first, it causes the others), errors,
    # then rejects


def anchor(kind: str, name: str) -> str:
    return f"{kind}-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)


def findings(summary: RunSummary) -> list[Finding]:
    out: list[Finding] = []
    captioned = sum(summary.by_caption_model.values())
    if captioned:
        for flag, count in summary.by_caption_flag.items():
            what, advice = FLAG_ADVICE.get(flag, (flag, "see the flagged captions"))
            rank = list(FLAG_ADVICE).index(flag) if flag in FLAG_ADVICE else len(FLAG_ADVICE)
            out.append(Finding(count / captioned,
                               f"{count} of {captioned} captions {what}: {advice}",
                               "#kept", flag, rank))
    if summary.inputs:
        for kind, count in summary.by_error_kind.items():
            advice = next((a for prefix, a in ERROR_ADVICE.items() if kind.startswith(prefix)),
                          "see the examples")
            out.append(Finding(count / summary.inputs,
                               f"{count} of {summary.inputs} rows are {kind} errors: {advice}",
                               "#" + anchor("error", kind), rank=100))
        for reason, count in summary.by_reject_reason.items():
            out.append(Finding(count / summary.inputs,
                               f"{count} of {summary.inputs} rows rejected as {reason}: "
                               f"{REJECT_ADVICE}", "#" + anchor("rejected", reason),
                               rank=200))
    return sorted(out, key=lambda f: (-f.share, f.rank))
