"""Caption mixing: which text variant becomes a sample's training caption (``key.txt``).

DALL-E 3 trained on 95% synthetic and 5% original captions; RECAP likewise mixes.
Each sample's variant is drawn from the weights by a seeded hash of its id, never by
a random generator, so the choice does not depend on the order, the sharding or on
which shards a resumed export still had to write: the same id, seed and weights give
the same variant everywhere.

Variants: the manifest's ``caption``, ``caption_raw`` and ``alt_text``, the derived
``caption_short`` (first sentence of ``caption``), and every entry of the row's
``caption_variants`` (other length targets and prompts, other captioners) as
``variant:<label>`` (the main captioner's, e.g. ``variant:20w``) or
``variant:<captioner>/<label>`` (e.g. ``variant:cogvlm/150w``); an entry counts when its
status is ``ok``.

A chosen variant that is empty for a row (a row without alt-text, a caption that QA
left empty) falls back to the other variants of the mix by falling weight, then to any
other variant in ``VARIANTS`` order; every fallback is counted per (chosen, used) pair
and reported. A row where every variant is empty has no training text at all and is
not exported (counted as ``no_text``).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# The first sentence end (with its closing quotes or brackets) before a space.
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*(?=\s|$)")


def first_sentence(text: str | None) -> str | None:
    """The first sentence of a caption: a short caption derived from the long one."""
    if not text or not text.strip():
        return None
    text = text.strip()
    match = _SENTENCE_END.search(text)
    return text[: match.end()] if match else text


def _column(name: str) -> Callable[[Mapping[str, Any]], str | None]:
    return lambda row: row.get(name)


# Variant name -> its text in a manifest row. The first three are the manifest's own
# columns; caption_short is derived here (the manifest holds no short caption).
VARIANTS: dict[str, Callable[[Mapping[str, Any]], str | None]] = {
    "caption": _column("caption"),
    "caption_raw": _column("caption_raw"),
    "caption_short": lambda row: first_sentence(row.get("caption")),
    "alt_text": _column("alt_text"),
}
VARIANT_NAMES = tuple(VARIANTS)
# Entries of the manifest's `caption_variants`, named in a mix.
CAPTION_VARIANT_PREFIX = "variant:"
VARIANT_OK = "ok"


def is_caption_variant(name: str) -> bool:
    return name.startswith(CAPTION_VARIANT_PREFIX) and len(name) > len(CAPTION_VARIANT_PREFIX)


def caption_variant_names(entry: Mapping[str, Any], main_model: str | None) -> list[str]:
    """The mix names of one ``caption_variants`` entry: by captioner, and by label
    alone when the entry is the main captioner's (its model wrote ``caption``)."""
    names = [f"{CAPTION_VARIANT_PREFIX}{entry['captioner']}/{entry['variant']}"]
    if main_model is not None and entry["model"] == main_model:
        names.append(f"{CAPTION_VARIANT_PREFIX}{entry['variant']}")
    return names


def variant_texts(row: Mapping[str, Any], names: Iterable[str] = ()) -> dict[str, str | None]:
    """The row's text of each built-in variant and of each ``variant:`` name in
    ``names``; ``None`` where it is empty (or the entry is missing or not ok)."""
    texts = {}
    for name, get in VARIANTS.items():
        text = get(row)
        texts[name] = text if text and text.strip() else None
    wanted = [name for name in names if is_caption_variant(name)]
    if wanted:
        texts.update(dict.fromkeys(wanted))
        for entry in row.get("caption_variants") or ():
            text = entry["caption"]
            if entry["status"] != VARIANT_OK or not text or not text.strip():
                continue
            for name in caption_variant_names(entry, row.get("caption_model")):
                if name in texts:
                    texts[name] = text
    return texts


def unit_interval(seed: int, sample_id: str) -> float:
    """A uniform number in [0, 1) from (seed, id): 64 bits of SHA-256."""
    digest = hashlib.sha256(f"{seed}\x1f{sample_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(frozen=True)
class Choice:
    chosen: str  # the variant the weights drew
    used: str | None  # the variant whose text was written (None: no text at all)
    text: str | None


class CaptionMix:
    """Draws each sample's variant from ``weights`` (normalised, sorted by name)."""

    def __init__(self, weights: Mapping[str, float], seed: int = 0) -> None:
        unknown = {name for name in weights if name not in VARIANTS
                   and not is_caption_variant(name)}
        if unknown:
            raise ValueError(f"unknown caption variants: {sorted(unknown)}")
        if not weights or any(w <= 0 for w in weights.values()):
            raise ValueError(f"mix weights must be positive: {dict(weights)}")
        self.seed = seed
        total = sum(weights.values())
        self.weights = {name: weights[name] / total for name in sorted(weights)}
        self._fallback_order = [
            *sorted(self.weights, key=lambda name: (-self.weights[name], name)),
            *[name for name in VARIANTS if name not in self.weights],
        ]

    def draw(self, sample_id: str) -> str:
        u = unit_interval(self.seed, sample_id)
        cumulative = 0.0
        for name, weight in self.weights.items():
            cumulative += weight
            if u < cumulative:
                return name
        return next(reversed(self.weights))  # u within float rounding of 1

    def choose(self, sample_id: str, texts: Mapping[str, str | None]) -> Choice:
        chosen = self.draw(sample_id)
        if texts.get(chosen):
            return Choice(chosen, chosen, texts[chosen])
        for name in self._fallback_order:
            if texts.get(name):
                return Choice(chosen, name, texts[name])
        return Choice(chosen, None, None)


@dataclass
class MixTally:
    """What the mix achieved: variants drawn, variants written, fallbacks."""

    drawn: Counter[str] = field(default_factory=Counter)
    used: Counter[str] = field(default_factory=Counter)
    fallbacks: Counter[str] = field(default_factory=Counter)  # "chosen->used"

    def add(self, choice: Choice) -> None:
        self.drawn[choice.chosen] += 1
        if choice.used is not None:
            self.used[choice.used] += 1
        if choice.used != choice.chosen:
            self.fallbacks[f"{choice.chosen}->{choice.used or 'none'}"] += 1

    def merge(self, other: MixTally) -> None:
        self.drawn.update(other.drawn)
        self.used.update(other.used)
        self.fallbacks.update(other.fallbacks)

    def to_dict(self) -> dict[str, dict[str, int]]:
        return {
            "drawn": dict(sorted(self.drawn.items())),
            "used": dict(sorted(self.used.items())),
            "fallbacks": dict(sorted(self.fallbacks.items())),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Mapping[str, int]]) -> MixTally:
        return cls(Counter(data["drawn"]), Counter(data["used"]), Counter(data["fallbacks"]))

    def shares(self) -> dict[str, float]:
        """Share of written samples per variant actually used."""
        total = sum(self.used.values())
        return {name: count / total for name, count in sorted(self.used.items())} if total else {}

    def describe(self, weights: Mapping[str, float]) -> str:
        total = sum(self.used.values())
        parts = [
            f"{name} {self.used.get(name, 0)} ({self.shares().get(name, 0.0):.1%}, "
            f"asked {weights.get(name, 0.0):.1%})"
            for name in sorted(set(weights) | set(self.used))
        ]
        line = f"caption mix over {total} samples: " + ", ".join(parts)
        if self.fallbacks:
            fallbacks = sorted(self.fallbacks.items())
            line += "; fallbacks " + ", ".join(f"{k} {v}" for k, v in fallbacks)
        return line
