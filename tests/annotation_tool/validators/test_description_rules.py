from __future__ import annotations

import pytest
from review_factories import GOOD_DESCRIPTION

from annotation_tool.errors import ValidationFailedError
from annotation_tool.validators.description import (
    DescriptionValidator,
    check_description,
    count_words,
    split_sentences,
)


def rules(text: str) -> list[str]:
    return [v.rule for v in check_description(text)]


def test_good_description_passes():
    assert count_words(GOOD_DESCRIPTION) == 182
    assert len(split_sentences(GOOD_DESCRIPTION)) == 6
    assert rules(GOOD_DESCRIPTION) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("This image depicts a cat. " + GOOD_DESCRIPTION, ["D3", "D7"]),
        ("Here is a red bus on a street. " + GOOD_DESCRIPTION, ["D7"]),
        ("In the picture is a dog. " + GOOD_DESCRIPTION, ["D7"]),
        ("It is a sunny street scene. " + GOOD_DESCRIPTION, ["D3"]),
        (GOOD_DESCRIPTION + " It might rain later.", ["D4"]),
        (GOOD_DESCRIPTION.replace("The lighting", "Maybe the lighting"), ["D4"]),
        ("A cat. Short.", ["D1", "D2", "D3"]),
        (GOOD_DESCRIPTION + " Extra sentence here now." * 4, []),  # 10 sentences: allowed
        (GOOD_DESCRIPTION + " Extra sentence here now." * 5, ["D2"]),
        ((GOOD_DESCRIPTION + " ") * 3, ["D1", "D2"]),
    ],
)
def test_violations(text, expected):
    assert rules(text) == expected


def test_sentence_split_keeps_decimals_together():
    assert split_sentences("A 1.5 metre pole stands. It is red!  Why? ok") == [
        "A 1.5 metre pole stands.",
        "It is red!",
        "Why?",
        "ok",
    ]


def test_validator_raises_with_violations():
    with pytest.raises(ValidationFailedError) as info:
        DescriptionValidator.validate_for_submit("Here is a cat.")
    assert [v["rule"] for v in info.value.details["violations"]] == ["D1", "D2", "D7"]
