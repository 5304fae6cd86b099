"""Caption clean-up that every backend shares: ``caption_raw`` in, ``caption`` + flags out.

Kept deliberately small here; the caption-QA issue adds boilerplate stripping,
repetition, refusal, prompt-leak and length checks with per-flag policies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

FLAG_TRUNCATED = "truncated"
FLAG_EMPTY = "empty"

_SENTENCE_END = re.compile(r"[.!?][\"')\]]*(?=\s|$)")


@dataclass
class CleanCaption:
    caption: str
    flags: list[str] = field(default_factory=list)


def cut_to_last_sentence(text: str) -> str:
    """Drop an unfinished trailing sentence; text with no full sentence stays whole."""
    ends = list(_SENTENCE_END.finditer(text))
    return text[: ends[-1].end()] if ends else text


def clean_caption(raw: str, finish_reason: str | None) -> CleanCaption:
    text = raw.strip()
    flags: list[str] = []
    if finish_reason == "length":
        flags.append(FLAG_TRUNCATED)
        text = cut_to_last_sentence(text).strip()
    if not text:
        flags.append(FLAG_EMPTY)
    return CleanCaption(text, flags)
