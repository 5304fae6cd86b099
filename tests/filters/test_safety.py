from __future__ import annotations

import math

import pytest

from filters.safety import NsfwFilter, NsfwFilterConfig, WatermarkFilter, WatermarkFilterConfig


@pytest.mark.parametrize(
    ("pwatermark", "expected"),
    [(0.9, "watermark_high_pwatermark"), (0.5, None), (0.1, None), (None, None),
     (math.nan, None)],
)
def test_watermark_threshold(pwatermark: float | None, expected: str | None) -> None:
    filt = WatermarkFilter(WatermarkFilterConfig(max_pwatermark=0.5))
    assert filt.apply({"pwatermark": pwatermark}, None) == expected


@pytest.mark.parametrize(
    ("punsafe", "expected"),
    [(0.99, "nsfw_high_punsafe"), (0.2, None), (0.0, None), (None, None)],
)
def test_nsfw_threshold(punsafe: float | None, expected: str | None) -> None:
    filt = NsfwFilter(NsfwFilterConfig(max_punsafe=0.3))
    assert filt.apply({"punsafe": punsafe}, None) == expected


def test_rows_without_scores_pass_and_are_counted() -> None:
    # SA-1B rows carry no LAION probabilities: they pass and say so in the counters.
    filt = NsfwFilter()
    rows = [{"punsafe": None}, {}, {"punsafe": 0.9}, {"punsafe": 0.1}]
    reasons = [filt.apply(row, None) for row in rows]
    assert reasons == [None, None, "nsfw_high_punsafe", None]
    assert filt.stats["unscored"] == 2
    assert filt.stats["dropped_nsfw_high_punsafe"] == 1


def test_no_image_needed_and_score_only() -> None:
    assert WatermarkFilter.needs_image is False and NsfwFilter.needs_image is False
    filt = WatermarkFilter(WatermarkFilterConfig(mode="score_only"))
    assert filt.apply({"pwatermark": 0.99}, None) is None
    assert filt.stats["forwarded"] == 1
