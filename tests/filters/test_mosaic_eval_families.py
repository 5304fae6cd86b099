"""The widened evaluation (``filters.mosaic_eval``): families, shapes, sizes, scoring,
and the default detector above floors per family, held-out families included."""

from __future__ import annotations

import numpy as np
import pytest

from filters.mosaic_eval import (
    Sample,
    evaluate,
    format_table,
    generate,
    judge,
    main,
    overlaps,
)
from filters.mosaic_eval.families import (
    CALIBRATION_PHOTOS,
    FAMILIES,
    HELD_OUT_PHOTOS,
    MIN_VISIBLE_CHANGE,
)
from filters.mosaic_eval.regions import SHAPES, draw_region, luma_change, operate


def test_every_family_is_reproducible_and_labelled() -> None:
    first = list(generate(1, seed=5, sizes=("small",)))
    again = list(generate(1, seed=5, sizes=("small",)))
    assert [s.family for s in first] == [f.name for f in FAMILIES]
    for a, b in zip(first, again, strict=True):
        assert a.image.tobytes() == b.image.tobytes()
        assert bool(a.regions) == a.positive
        for y0, x0, y1, x1 in a.boxes:
            assert 0 < y0 < y1 < a.image.height and 0 < x0 < x1 < a.image.width


def test_fewer_families_give_the_same_images() -> None:
    names = ("median_irregular", "sky_gradient")
    alone = list(generate(2, seed=3, families=names, sizes=("small",)))
    together = [s for s in generate(2, seed=3, sizes=("small",)) if s.family in names]
    assert [s.image.tobytes() for s in alone] == [s.image.tobytes() for s in together]


def test_an_unknown_family_is_named() -> None:
    with pytest.raises(ValueError, match=r"unknown families or sizes \['blur'\]"):
        next(generate(1, families=("gauss_rect", "blur")))


def test_held_out_families_differ_in_operation_shape_and_photo() -> None:
    assert not set(CALIBRATION_PHOTOS) & set(HELD_OUT_PHOTOS)
    held = {f.name for f in FAMILIES if f.held_out}
    assert {"box_rot_ellipse", "median_irregular", "pixel_feather_rounded"} <= held
    assert {f.positive for f in FAMILIES if f.held_out} == {True, False}
    assert {f.positive for f in FAMILIES if not f.held_out} == {True, False}


def test_sa1b_size_and_region_coverage() -> None:
    for sample in generate(2, seed=1, families=("gauss_ellipse", "clean"), sizes=("sa1b",)):
        assert sorted(sample.image.size) == [1500, 2250]
        area = sample.image.width * sample.image.height
        covered = sum((y1 - y0) * (x1 - x0) for y0, x0, y1, x1 in sample.boxes) / area
        assert (covered > 0) == sample.positive
        assert covered <= 0.11  # 10 % of the image, plus integer rounding


@pytest.mark.parametrize("shape", SHAPES)
def test_each_shape_fills_its_box_as_it_should(shape: str) -> None:
    rng = np.random.default_rng(0)
    region = draw_region(rng, 600, 800, 0.05, shape)
    fill = float((region.alpha > 0.5).mean())
    expected = {"rect": (0.99, 1.0), "ellipse": (0.75, 0.82), "rot_ellipse": (0.3, 0.8),
                "rounded": (0.85, 0.99), "irregular": (0.3, 0.8)}[shape]
    assert expected[0] <= fill <= expected[1]
    y0, x0, y1, x1 = region.box
    assert 0.03 <= (y1 - y0) * (x1 - x0) * fill / (600 * 800) <= 0.07


@pytest.mark.parametrize(("operation", "strength"),
                         [("gaussian", 8.0), ("box", 15), ("median", 11), ("pixelate", 12)])
def test_each_operation_changes_what_it_covers_only(operation: str, strength: float) -> None:
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
    region = draw_region(rng, 300, 400, 0.05, "ellipse")
    out = operate(img, region, operation, strength, centre=False)
    assert luma_change(img, out, region) >= MIN_VISIBLE_CHANGE
    y0, x0, y1, x1 = region.box
    outside = np.ones(img.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    assert np.array_equal(out[outside], img[outside])


def _sample(positive: bool, boxes: list) -> Sample:
    from filters.mosaic_eval.regions import Region

    regions = tuple(Region(b, np.ones((b[2] - b[0], b[3] - b[1]), np.float32)) for b in boxes)
    return Sample("x", "small", positive, False, None, regions)  # type: ignore[arg-type]


def test_a_detection_elsewhere_is_misplaced_not_found() -> None:
    pasted = (100, 100, 200, 200)
    sample = _sample(True, [pasted])
    assert judge(sample, 2.0, [(110, 90, 210, 190)], 1.0) == "tp"
    assert judge(sample, 2.0, [(300, 300, 400, 400)], 1.0) == "misplaced"
    assert judge(sample, 0.5, [(110, 90, 210, 190)], 1.0) == "fn"
    assert judge(_sample(False, []), 2.0, [(0, 0, 10, 10)], 1.0) == "fp"
    # A box around the whole image is not "on" a small pasted region...
    assert not overlaps((0, 0, 1000, 1000), (100, 100, 120, 120))
    # ... unless it covers half of it: a detection inside the region is on it.
    assert overlaps((105, 105, 130, 130), pasted)


N = 4  # per family, small size: 44 images, about 10 s

# Floors under what the default (learned) detector gives at this size and seed 0
# (pixel_rect 0.75, pixel_ellipse 0.5, pixel_feather_rounded 0.25, no false positive), so
# that the test catches a broken detector, not the noise of four images. They are far
# under the goal (0.9 on the held-out families at SA-1B size), which is not met:
# filters/README.md has the figures.
RECALL_FLOORS = {"pixel_rect": 0.5, "pixel_ellipse": 0.25, "pixel_feather_rounded": 0.25}
MAX_FPR = {"clean": 0.25, "heavy_jpeg": 0.25, "textures": 0.25, "clean_held_out": 0.25,
           "soft_focus": 0.25, "sky_gradient": 0.25, "screenshot_text": 0.25}


def test_small_evaluation_clears_floors_per_family() -> None:
    families = (*RECALL_FLOORS, *MAX_FPR)
    table = evaluate(N, seed=0, families=families, sizes=("small",))
    for name, floor in RECALL_FLOORS.items():
        assert table[f"{name}/small"]["recall"] >= floor, name
    for name, ceiling in MAX_FPR.items():
        assert table[f"{name}/small"]["false_positive_rate"] <= ceiling, name
    assert table["held_out/small"]["precision"] >= 0.75
    assert table["calibration/small"]["precision"] >= 0.75


def test_cli_prints_the_table(capsys) -> None:
    assert main(["--n", "1", "--sizes", "small", "--families", "gauss_rect,clean"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[1].split() == ["family", "/", "size", "split", "n", "prec", "recall",
                                           "misp", "fpr"]
    assert "gauss_rect/small" in out and "calibration/all" in out
    table = evaluate(1, families=("clean",), sizes=("small",))
    assert format_table(table).splitlines()[-1].startswith("calibration/all")
