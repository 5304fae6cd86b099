"""Description rules (paper §3.2.2) checked on the server.

static/rules.js implements the same checks for live feedback; both read their limits
and word lists from ``RULE_CONFIG`` (the page embeds it as JSON), so the two cannot
drift apart on the numbers, and tests/annotation_tool check both against the same
texts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from annotation_tool.errors import ValidationFailedError

MIN_WORDS, MAX_WORDS = 128, 512
MIN_SENTENCES, MAX_SENTENCES = 4, 10
# A first sentence this short cannot both name and portray a subject.
MIN_FIRST_SENTENCE_WORDS = 4
FORBIDDEN_OPENERS = (
    "in the picture is",
    "in the picture",
    "this image depicts",
    "this image shows",
    "this picture shows",
    "the image shows",
    "here is",
)
SPECULATIVE_WORDS = (
    "might",
    "maybe",
    "probably",
    "perhaps",
    "possibly",
    "presumably",
    "likely",
    "seemingly",
    "apparently",
    "seems",
    "seem",
)
# A first sentence that opens with a pronoun or an expletive names no subject.
NON_SUBJECT_STARTS = (
    "it",
    "there",
    "this",
    "that",
    "these",
    "those",
    "they",
    "he",
    "she",
    "we",
    "i",
    "you",
)

RULE_CONFIG: dict[str, Any] = {
    "minWords": MIN_WORDS,
    "maxWords": MAX_WORDS,
    "minSentences": MIN_SENTENCES,
    "maxSentences": MAX_SENTENCES,
    "minFirstSentenceWords": MIN_FIRST_SENTENCE_WORDS,
    "forbiddenOpeners": list(FORBIDDEN_OPENERS),
    "speculativeWords": list(SPECULATIVE_WORDS),
    "nonSubjectStarts": list(NON_SUBJECT_STARTS),
}

# A sentence ends at ., ! or ? (runs of them) followed by whitespace or the end.
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")
_WORD = re.compile(r"[A-Za-z']+")


@dataclass(frozen=True)
class RuleViolation:
    rule: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "message": self.message}


def count_words(text: str) -> int:
    return len(text.split())  # DESIGN.md: words are whitespace-separated pieces


def split_sentences(text: str) -> list[str]:
    sentences, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        piece = text[start : match.end()].strip()
        if piece:
            sentences.append(piece)
        start = match.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def check_description(text: str) -> list[RuleViolation]:
    """All rule violations of ``text``; empty when the description may be submitted."""
    violations: list[RuleViolation] = []
    n_words = count_words(text)
    if n_words < MIN_WORDS or n_words > MAX_WORDS:
        violations.append(
            RuleViolation("D1", f"{n_words} words; the description needs {MIN_WORDS}-{MAX_WORDS}.")
        )
    sentences = split_sentences(text)
    if len(sentences) < MIN_SENTENCES or len(sentences) > MAX_SENTENCES:
        violations.append(
            RuleViolation(
                "D2",
                f"{len(sentences)} sentences; the description needs "
                f"{MIN_SENTENCES}-{MAX_SENTENCES}.",
            )
        )
    lowered = " ".join(text.lower().split())
    for opener in FORBIDDEN_OPENERS:
        if lowered.startswith(opener):
            violations.append(RuleViolation("D7", f"Starts with the forbidden opener '{opener}'."))
            break
    if sentences:
        first_words = _WORD.findall(sentences[0].lower())
        if len(first_words) < MIN_FIRST_SENTENCE_WORDS:
            violations.append(
                RuleViolation("D3", "The first sentence is too short to portray the main subject.")
            )
        elif first_words[0] in NON_SUBJECT_STARTS:
            violations.append(
                RuleViolation(
                    "D3",
                    f"The first sentence starts with '{first_words[0]}'; "
                    "start by naming the main subject.",
                )
            )
    found = sorted({w for w in _WORD.findall(text.lower()) if w in SPECULATIVE_WORDS})
    if found:
        violations.append(
            RuleViolation(
                "D4", f"Speculative words: {', '.join(found)}. Describe only what is seen."
            )
        )
    return sorted(violations, key=lambda v: v.rule)  # rule order, as the checklist shows


class DescriptionValidator:
    """Refuses a submission whose text breaks an automatically checkable rule."""

    @classmethod
    def validate_for_submit(cls, text: str) -> None:
        violations = check_description(text)
        if violations:
            raise ValidationFailedError(
                "The description breaks the description rules.",
                violations=[v.as_dict() for v in violations],
            )
