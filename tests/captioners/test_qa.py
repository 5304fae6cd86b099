"""Caption QA on real-looking captions, good and bad: exact flags and cleaned text."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from captioners.qa import QAConfig, clean_caption

GOOD = (
    "A tabby cat with green eyes lies on a red blanket near a window. Sunlight falls "
    "across its fur, and a potted plant stands on the sill behind it. The room has "
    "white walls and a wooden floor."
)


@pytest.mark.parametrize(
    ("raw", "finish", "target", "caption", "flags"),
    [
        (GOOD, "stop", None, GOOD, []),
        (
            "The image shows a red bicycle leaning against a brick wall.",
            "stop", None, "A red bicycle leaning against a brick wall.", ["prefix_stripped"],
        ),
        (
            "In this image, there is a dog running on the beach.",
            "stop", None, "There is a dog running on the beach.", ["prefix_stripped"],
        ),
        (
            "This image depicts an old man reading a newspaper on a bench.",
            "stop", None, "An old man reading a newspaper on a bench.", ["prefix_stripped"],
        ),
        (
            "Here is a detailed description of the image: a bowl of ramen with an egg.",
            "stop", None, "A bowl of ramen with an egg.", ["prefix_stripped"],
        ),
        (
            "In the picture is a lighthouse on a rocky cliff at sunset.",
            "stop", None, "A lighthouse on a rocky cliff at sunset.", ["prefix_stripped"],
        ),
        (
            "A snowy mountain rises above a lake. Pine trees line the shore and a",
            "length", None, "A snowy mountain rises above a lake.", ["truncated"],
        ),
        (
            "A man in a blue shirt stands in the kitchen. A man in a blue shirt stands "
            "in the kitchen. A man in a blue shirt stands in the kitchen.",
            "stop", None,
            "A man in a blue shirt stands in the kitchen. A man in a blue shirt stands "
            "in the kitchen. A man in a blue shirt stands in the kitchen.",
            ["repetitive"],
        ),
        (
            "I'm sorry, but I can't provide a description of this image.",
            "stop", None, "I'm sorry, but I can't provide a description of this image.",
            ["refusal"],
        ),
        (
            "A plate of pasta on a table. USER: Provide a detailed description of the image",
            "stop", None,
            "A plate of pasta on a table. USER: Provide a detailed description of the image",
            ["prompt_leak"],
        ),
        (
            "<image>\nA child flies a kite in a park.",
            "stop", None, "<image>\nA child flies a kite in a park.", ["prompt_leak"],
        ),
        ("A cat on a mat.", "stop", 150, "A cat on a mat.", ["off_length"]),
        (GOOD, "stop", 40, GOOD, []),
        (
            "Una mujer camina por la calle con un paraguas rojo bajo la lluvia fria.",
            "stop", None,
            "Una mujer camina por la calle con un paraguas rojo bajo la lluvia fria.",
            ["non_english"],
        ),
        (
            "一只猫躺在窗边的红色毯子上,阳光洒在它的毛上。",
            "stop", None, "一只猫躺在窗边的红色毯子上,阳光洒在它的毛上。", ["non_english"],
        ),
        ("   ", "stop", None, "", ["empty"]),
        ("The image shows", "stop", None, "The image shows", []),
    ],
)
def test_flags_and_cleaned_text(
    raw: str, finish: str, target: int | None, caption: str, flags: list[str]
) -> None:
    cleaned = clean_caption(raw, finish, target_words=target)
    assert (cleaned.caption, cleaned.flags) == (caption, flags)


def test_worst_policy_wins() -> None:
    config = QAConfig(policies={"truncated": "retry", "refusal": "reject"})
    cleaned = clean_caption("I'm sorry, I cannot describe the image. It", "length")
    assert cleaned.flags == ["refusal", "truncated"]
    assert cleaned.worst_policy(config) == ("reject", "refusal")
    assert clean_caption(GOOD, "stop").worst_policy(config) == ("keep", None)


def test_unknown_flag_in_policies_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown QA flags"):
        QAConfig(policies={"spelling": "reject"})


def test_tolerance_bounds() -> None:
    twenty = " ".join(["word"] * 20) + "."
    assert "off_length" not in clean_caption(twenty, "stop", 30).flags  # 15..45
    assert "off_length" in clean_caption(twenty, "stop", 50).flags  # 25..75
