from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

from stats.clip_tokens import ClipTokenCounter


@pytest.fixture(scope="module")
def counter() -> ClipTokenCounter:
    return ClipTokenCounter()


@pytest.fixture(scope="module")
def reference():
    from open_clip.tokenizer import SimpleTokenizer

    tokenizer = SimpleTokenizer()
    return lambda text: len(tokenizer.encode(text)) + 2


# Hand-checked against the BPE pieces open_clip decodes to (listed), plus start and end.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 2),
        ("   \n\t ", 2),
        ("A dog sits on the red mat.", 10),  # a dog sits on the red mat .
        ("Hello, world!", 6),  # hello , world !
        ("photorealistic", 4),  # photo realistic
        ("It's 3:45pm", 9),  # it 's 3 : 4 5 pm
        ("Tom &amp; Jerry", 5),  # tom & jerry: the entity is unescaped first
    ],
)
def test_hand_checked_counts(counter: ClipTokenCounter, text: str, expected: int) -> None:
    assert counter.count(text) == expected


def test_no_truncation_at_77(counter: ClipTokenCounter) -> None:
    text = "a dog " * 5000
    assert counter.count(text) == 10_002


def _fuzz_texts(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    ascii_pool = [chr(c) for c in range(32, 127)] + ["\t", "\n", "\r", "\x00", "\x07", "\x1b",
                                                    "\x7f", "&", "&amp;", "&lt;b&gt;", "&#39;"]
    unicode_pool = [
        "é", "e\u0301", "ß", "ﬁ", "Ａ", "“", "”", "’", "\u00a0", "\u200b", "\u2028", "\u202e",
        "猫", "кошка", "🐱", "👩\u200d👩\u200d👧", "Ã©", "â€™", "\ufeff", "\u0085", "ǅ", "İ",
    ]
    words = ["dog", "The", "photorealistic", "cat's", "3.5", "can't", "<start_of_text>"]
    texts = []
    for _ in range(n):
        pool = ascii_pool if rng.random() < 0.5 else ascii_pool + unicode_pool + words
        texts.append("".join(rng.choice(pool) for _ in range(rng.randint(0, 60))))
        texts.append(" ".join(rng.choice(words + ["a", "red", "mat."]) for _ in range(20)))
    return texts


def test_equals_open_clip_encode_on_fuzzed_text(counter: ClipTokenCounter, reference) -> None:
    # Both the ASCII shortcut and the ftfy path, on ASCII controls, entities, mojibake,
    # combining marks, ligatures, full-width forms, zero-width and bidi characters.
    mismatches = [t for t in _fuzz_texts(0, 1500) if counter.count(t) != reference(t)]
    assert mismatches == []


def test_clean_matches_open_clip_on_ascii(counter: ClipTokenCounter) -> None:
    from open_clip.tokenizer import SimpleTokenizer

    tokenizer = SimpleTokenizer()
    for text in ["  Two  DOGS\tplay.\n", "a &amp; b", "bell\x07 rings", "x\r\ny"]:
        assert counter.clean(text) == tokenizer.clean_fn(text)


def test_counter_loads_without_the_open_clip_model_zoo() -> None:
    # A fresh interpreter: the tokenizer is loaded on its own, not through open_clip's
    # package __init__ (torchvision, transformers), which every Ray worker would pay for.
    code = (
        "import sys; from stats.clip_tokens import ClipTokenCounter; "
        "n = ClipTokenCounter().count('A red dog.'); "
        "print(n, 'open_clip' in sys.modules, 'torchvision' in sys.modules)"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == ["6", "False", "False"]
