"""Caption QA shared by every backend: ``caption_raw`` in, a cleaned ``caption`` + flags out.

Cleaning (the text changes):
* boilerplate openers are stripped ("The image shows", "In this image,", "This image
  depicts", "Here is a detailed description of the image:", ...) and the next word
  capitalised: flag ``prefix_stripped``;
* a caption cut by ``max_tokens`` loses its unfinished last sentence: ``truncated``.

Checks (the text stays, a flag is added):
* ``repetitive``: a word 4-gram occurring 3+ times, or a sentence repeated;
* ``refusal``: the model declined ("I'm sorry, but I can't ...", "As an AI ...");
* ``prompt_leak``: chat-template debris (role tags, ``<image>``, special tokens) or
  the instruction itself echoed;
* ``off_length``: word count outside target x (1 +- tolerance);
* ``non_english``: mostly non-Latin letters, or too few English function words;
* ``empty``: nothing left.

What happens to a flagged row is the config's policy per flag (``QAConfig``):
``keep`` (flag only), ``retry`` (generate once more with other sampling), ``reject``
(the row becomes ``rejected`` with reason ``caption_<flag>``).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

FLAG_PREFIX_STRIPPED = "prefix_stripped"
FLAG_TRUNCATED = "truncated"
FLAG_REPETITIVE = "repetitive"
FLAG_REFUSAL = "refusal"
FLAG_PROMPT_LEAK = "prompt_leak"
FLAG_OFF_LENGTH = "off_length"
FLAG_NON_ENGLISH = "non_english"
FLAG_EMPTY = "empty"
QUALITY_FLAGS = (
    FLAG_TRUNCATED,
    FLAG_REPETITIVE,
    FLAG_REFUSAL,
    FLAG_PROMPT_LEAK,
    FLAG_OFF_LENGTH,
    FLAG_NON_ENGLISH,
    FLAG_EMPTY,
)

Policy = Literal["keep", "retry", "reject"]

_SENTENCE_END = re.compile(r"[.!?][\"')\]]*(?=\s|$)")

# Openers that add words but no content (ParaImage §3.2.2 bans the same ones for
# human descriptions). Longest alternatives first; each may end in ":" or ",".
_OPENER = re.compile(
    r"^\s*(?:"
    r"here\s+is\s+(?:a|an|the)\s+(?:detailed\s+|brief\s+|long\s+)?description\s+of\s+"
    r"(?:the|this)\s+(?:image|picture|photo(?:graph)?)\s*[:,.]?"
    r"|(?:in|within)\s+(?:this|the)\s+(?:image|picture|photo(?:graph)?|scene)\s*,?\s*"
    r"(?:we\s+(?:can\s+)?see|is|are)?"
    r"|(?:this|the)\s+(?:image|picture|photo(?:graph)?|scene)\s+"
    r"(?:shows|depicts|displays|features|presents|captures|portrays|is\s+of|contains)"
    r"|(?:this|it)\s+is\s+(?:a|an)\s+(?:image|picture|photo(?:graph)?)\s+of"
    r"|here\s+is"
    r")\s*[:,]?\s*",
    re.IGNORECASE,
)

_REFUSAL = re.compile(
    r"\b(?:i'?m\s+sorry|i\s+am\s+sorry|i\s+(?:cannot|can'?t|am\s+unable\s+to|won'?t)"
    r"\s+(?:provide|describe|help|assist|see|identify)|as\s+an\s+ai\b|"
    r"unable\s+to\s+(?:provide|describe|view)\s+(?:the|this|an?)\s+image)",
    re.IGNORECASE,
)

_LEAK = re.compile(
    r"(?:\b(?:USER|ASSISTANT|SYSTEM|Human|Assistant)\s*:|<image>|<\|[a-z_]+\|>|</?s>|"
    r"\[/?INST\]|<start_of_turn>|<end_of_turn>|provide\s+a\s+detailed\s+description\s+"
    r"of\s+the\s+image)",
)

# The most frequent English words; real English captions are ~35-50% these.
_FUNCTION_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "at",
        "to",
        "with",
        "and",
        "or",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "there",
        "this",
        "that",
        "these",
        "those",
        "it",
        "its",
        "as",
        "by",
        "for",
        "from",
        "its",
        "their",
        "his",
        "her",
        "some",
        "two",
        "three",
        "several",
        "which",
        "while",
        "has",
        "have",
        "behind",
        "near",
        "next",
        "above",
        "below",
        "under",
        "over",
        "into",
        "onto",
    ]
)


class QAConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    policies: dict[str, Policy] = Field(
        default_factory=dict,
        description=f"flag -> keep | retry | reject; flags: {', '.join(QUALITY_FLAGS)}; "
        "unlisted flags are kept",
    )
    off_length_tolerance: float = Field(0.5, gt=0, description="allowed relative deviation")
    retry_temperature: float = Field(0.7, ge=0, description="sampling for the one retry")
    retry_top_p: float = Field(0.9, gt=0, le=1)

    @field_validator("policies")
    @classmethod
    def _known_flags(cls, policies: dict[str, Policy]) -> dict[str, Policy]:
        unknown = sorted(set(policies) - set(QUALITY_FLAGS))
        if unknown:
            raise ValueError(f"unknown QA flags {unknown}; known: {list(QUALITY_FLAGS)}")
        return policies

    def policy(self, flag: str) -> Policy:
        return self.policies.get(flag, "keep")


@dataclass
class CleanCaption:
    caption: str
    flags: list[str] = field(default_factory=list)

    def worst_policy(self, config: QAConfig) -> tuple[Policy, str | None]:
        """The strongest policy among this caption's flags, and the flag behind it."""
        rank = {"keep": 0, "retry": 1, "reject": 2}
        best: tuple[Policy, str | None] = ("keep", None)
        for flag in self.flags:
            policy = config.policy(flag)
            if rank[policy] > rank[best[0]]:
                best = (policy, flag)
        return best


def cut_to_last_sentence(text: str) -> str:
    """Drop an unfinished trailing sentence; text with no full sentence stays whole."""
    ends = list(_SENTENCE_END.finditer(text))
    return text[: ends[-1].end()] if ends else text


def strip_opener(text: str) -> str:
    match = _OPENER.match(text)
    if not match or match.end() >= len(text):
        return text
    rest = text[match.end() :].lstrip(" :,")
    return rest[:1].upper() + rest[1:]


def _words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z']+", text.lower())


def is_repetitive(text: str) -> bool:
    words = _words(text)
    grams = Counter(tuple(words[i : i + 4]) for i in range(len(words) - 3))
    if grams and grams.most_common(1)[0][1] >= 3:
        return True
    sentences = [
        " ".join(_words(s)) for s in re.split(r"(?<=[.!?])\s+", text) if len(_words(s)) >= 3
    ]
    return len(sentences) != len(set(sentences))


def is_non_english(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return False
    latin = sum(1 for c in letters if c.isascii())
    if latin / len(letters) < 0.8:
        return True
    words = text.lower().split()
    if len(words) < 8:
        return False
    share = sum(1 for w in words if w.strip(".,;:!?\"'()") in _FUNCTION_WORDS) / len(words)
    return share < 0.15


def clean_caption(
    raw: str,
    finish_reason: str | None,
    target_words: int | None = None,
    config: QAConfig | None = None,
) -> CleanCaption:
    config = config or QAConfig()
    flags: list[str] = []
    text = raw.strip()
    if _LEAK.search(text):
        flags.append(FLAG_PROMPT_LEAK)
    if _REFUSAL.search(text):
        flags.append(FLAG_REFUSAL)
    stripped = strip_opener(text)
    if stripped != text:
        flags.append(FLAG_PREFIX_STRIPPED)
        text = stripped
    if finish_reason == "length":
        flags.append(FLAG_TRUNCATED)
        text = cut_to_last_sentence(text).strip()
    if not text:
        flags.append(FLAG_EMPTY)
        return CleanCaption(text, flags)
    if is_repetitive(text):
        flags.append(FLAG_REPETITIVE)
    if is_non_english(text):
        flags.append(FLAG_NON_ENGLISH)
    if target_words:
        n_words = len(text.split())
        low = target_words * (1 - config.off_length_tolerance)
        high = target_words * (1 + config.off_length_tolerance)
        if not low <= n_words <= high:
            flags.append(FLAG_OFF_LENGTH)
    return CleanCaption(text, flags)
