from __future__ import annotations

import pytest
from filter_helpers import photo
from PIL import Image
from pydantic import ValidationError

from filters import build_filter
from filters.resolution import ResolutionFilter, ResolutionFilterConfig


def check(image: Image.Image | None, row: dict | None = None, **config) -> tuple[str | None, dict]:
    filt = ResolutionFilter(ResolutionFilterConfig(**config))
    row = dict(row or {})
    return filt.apply(row, image), row


def test_real_photo_at_the_threshold_passes() -> None:
    reason, row = check(photo("astronaut"))  # 512 x 512
    assert reason is None
    assert (row["width"], row["height"], row["short_edge"]) == (512, 512, 512)


def test_real_photo_below_the_short_edge_is_rejected() -> None:
    reason, row = check(photo("coffee"))  # 600 x 400
    assert reason == "resolution_short_edge"
    assert row["short_edge"] == 400


def test_decoded_size_wins_over_wrong_metadata() -> None:
    # LAION's WIDTH/HEIGHT describe the original, not the downloaded file.
    reason, row = check(photo("chelsea"), {"width": 4000, "height": 3000, "short_edge": 3000})
    assert reason == "resolution_short_edge"
    assert (row["width"], row["height"], row["short_edge"]) == (451, 300, 300)


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((512, 511), "resolution_short_edge"),
        ((1536, 512), None),  # exactly 3:1
        ((1537, 512), "resolution_aspect_ratio"),
        ((512, 1537), "resolution_aspect_ratio"),
        ((1, 1), "resolution_short_edge"),
    ],
)
def test_generated_edge_cases(size: tuple[int, int], expected: str | None) -> None:
    reason, _ = check(Image.new("RGB", size))
    assert reason == expected


def test_metadata_prefilter_without_image() -> None:
    assert check(None, {"width": 800, "height": 300})[0] == "resolution_short_edge"
    filt = ResolutionFilter()
    row: dict = {"width": None, "height": None}
    assert filt.apply(row, None) is None  # unknown size: the post-decode pass decides
    assert filt.stats["unscored"] == 1


def test_score_only_scores_but_never_rejects() -> None:
    filt = ResolutionFilter(ResolutionFilterConfig(mode="score_only"))
    row: dict = {}
    assert filt.apply(row, photo("coffee")) is None
    assert row["short_edge"] == 400
    assert filt.stats["forwarded"] == 1 and filt.stats["dropped"] == 0


def test_counters_name_the_reason() -> None:
    filt = ResolutionFilter()
    for image in (photo("coffee"), photo("astronaut"), Image.new("RGB", (2000, 600))):
        filt.apply({}, image)
    assert filt.stats == {
        "total": 3, "forwarded": 1, "dropped": 2,
        "dropped_resolution_short_edge": 1, "dropped_resolution_aspect_ratio": 1,
    }


def test_config_validation_and_off_mode() -> None:
    with pytest.raises(ValidationError, match="min_short_egde"):
        ResolutionFilterConfig(min_short_egde=512)
    with pytest.raises(ValidationError):
        ResolutionFilterConfig(max_aspect_ratio=0.5)
    assert build_filter("resolution", ResolutionFilterConfig(mode="off")) is None
    built = build_filter("resolution", ResolutionFilterConfig(min_short_edge=256))
    assert isinstance(built, ResolutionFilter) and built.config.min_short_edge == 256
