from __future__ import annotations

import numpy as np
import pytest
from filter_helpers import jpeg, photo
from PIL import Image
from pydantic import ValidationError
from scipy import ndimage

from filters.mosaic import (
    MosaicCalibration,
    MosaicFilter,
    MosaicFilterConfig,
    detect_mosaic,
    pixelation,
    planes,
)
from filters.mosaic import blur as blur_islands
from filters.mosaic.calibration import LOG_EPS
from filters.mosaic_eval.legacy import _face_box, _pixelate, generate

# The hand-built detectors alone: these tests pin their calibration (the cases each
# threshold of MosaicCalibration was set on).
HAND = MosaicFilterConfig(detector="hand_built")


def pixelated(name: str, box: tuple[int, int, int, int], block: int, centre: bool,
              quality: int = 85) -> Image.Image:
    pixels = np.asarray(photo(name)).copy()
    y0, x0, y1, x1 = box
    cells = _pixelate(pixels[y0:y1, x0:x1], block, centre)
    pixels[y0:y1, x0:x1] = np.clip(cells + 0.5, 0, 255).astype(np.uint8)
    return jpeg(Image.fromarray(pixels), quality)


def blurred(name: str, box: tuple[int, int, int, int], sigma: float) -> Image.Image:
    pixels = np.asarray(photo(name)).astype(np.float32)
    y0, x0, y1, x1 = box
    soft = ndimage.gaussian_filter(pixels, (sigma, sigma, 0))
    pixels[y0:y1, x0:x1] = soft[y0:y1, x0:x1]
    return jpeg(Image.fromarray(np.clip(pixels + 0.5, 0, 255).astype(np.uint8)), 85)


@pytest.mark.parametrize(
    ("name", "box", "block", "centre"),
    [
        ("astronaut", (100, 130, 300, 330), 12, False),
        ("coffee", (80, 200, 260, 380), 8, True),
        ("chelsea", (60, 150, 220, 320), 16, False),
    ],
)
def test_pixelated_face_box_is_rejected(name: str, box: tuple, block: int, centre: bool) -> None:
    image = pixelated(name, box, block, centre)
    result = detect_mosaic(image, HAND)
    assert result.kind == "pixelation" and result.period == block
    y0, x0, y1, x1 = result.box  # the tile group overlaps the pasted box
    assert y0 < box[2] and box[0] < y1 and x0 < box[3] and box[1] < x1
    row: dict = {}
    assert MosaicFilter(HAND).apply(row, image) == "mosaic_detected"
    assert row["mosaic_detected"] is True and row["mosaic_score"] >= 1.0


@pytest.mark.parametrize(("block", "centre"), [(10, False), (20, True)])
def test_small_box_is_found_on_the_fine_grid(block: int, centre: bool) -> None:
    # 104x108 px: one whole 64-px tile at stride 32, whose evidence alone falls short;
    # the stride-16 tiles around it find the grid (with the one-way tiles off, which on
    # their own find these two boxes at stride 32 too).
    box = (170, 180, 274, 288)
    image = pixelated("astronaut", box, block, centre)
    coarse = detect_mosaic(image, HAND, MosaicCalibration(fine_stride=0, weak_contrast=0.0))
    result = detect_mosaic(image, HAND)
    assert coarse.score < 1.0 <= result.score
    assert result.kind == "pixelation" and result.period == block
    y0, x0, y1, x1 = result.box
    assert y0 < box[2] and box[0] < y1 and x0 < box[3] and box[1] < x1


def test_blurred_box_is_rejected() -> None:
    image = blurred("astronaut", (250, 60, 400, 200), sigma=15)
    result = detect_mosaic(image, HAND)
    assert result.kind == "blur" and result.score >= 1.0
    assert MosaicFilter(HAND).apply({}, image) == "mosaic_detected"


@pytest.mark.parametrize(
    "name",
    ["astronaut", "coffee", "chelsea", "rocket", "camera", "brick", "grass", "gravel",
     "retina", "coins"],
)
@pytest.mark.parametrize("quality", [90, 10])
def test_real_photos_pass_even_heavily_compressed(name: str, quality: int) -> None:
    row: dict = {}
    assert MosaicFilter().apply(row, jpeg(photo(name), quality)) is None
    assert row["mosaic_detected"] is False and row["mosaic_score"] < 1.0


def test_shallow_depth_of_field_passes() -> None:
    # The whole frame soft except a sharp subject: large, touching the border.
    pixels = np.asarray(photo("coffee")).astype(np.float32)
    soft = ndimage.gaussian_filter(pixels, (8, 8, 0))
    yy, xx = np.mgrid[0:400, 0:600]
    weight = np.clip(np.hypot((yy - 200) / 120, (xx - 300) / 160) - 1, 0, 1)[..., None]
    image = Image.fromarray(np.clip(weight * soft + (1 - weight) * pixels, 0, 255).astype(np.uint8))
    assert MosaicFilter().apply({}, jpeg(image)) is None


@pytest.mark.parametrize(
    "image",
    [
        Image.new("RGB", (640, 480), (128, 128, 128)),  # flat
        Image.new("RGB", (40, 30), (10, 200, 30)),  # smaller than a tile
        Image.new("RGB", (1, 1)),
        Image.new("L", (300, 200), 0),
        Image.new("RGBA", (300, 200), (255, 0, 0, 0)),
    ],
    ids=["flat", "tiny", "one-pixel", "grey-mode", "rgba"],
)
def test_generated_edge_cases_do_not_fire(image: Image.Image) -> None:
    result = detect_mosaic(image, HAND)
    assert result.score == 0.0 and result.kind is None


def test_each_detector_can_be_switched_off() -> None:
    image = pixelated("astronaut", (100, 130, 300, 330), 12, False)
    no_pixelation = MosaicFilterConfig(detector="hand_built", pixelation=False)
    assert detect_mosaic(image, no_pixelation).pixelation_score == 0.0
    no_blur = MosaicFilterConfig(detector="hand_built", blur=False)
    assert detect_mosaic(image, no_blur).kind == "pixelation"


def test_score_only_records_but_never_rejects() -> None:
    filt = MosaicFilter(MosaicFilterConfig(mode="score_only", detector="hand_built"))
    row: dict = {}
    assert filt.apply(row, pixelated("astronaut", (100, 130, 300, 330), 12, False)) is None
    assert row["mosaic_detected"] is True
    assert filt.stats["forwarded"] == 1 and filt.stats["scored_pixelation"] == 1


def test_threshold_moves_the_decision() -> None:
    image = pixelated("astronaut", (100, 130, 300, 330), 12, False)
    score = detect_mosaic(image, HAND).score
    strict = MosaicFilter(MosaicFilterConfig(detector="hand_built", threshold=score + 1))
    row: dict = {}
    assert strict.apply(row, image) is None
    assert row["mosaic_score"] == pytest.approx(score)


def test_config_is_validated() -> None:
    with pytest.raises(ValidationError, match="multiple of mosaic.stride"):
        MosaicCalibration(tile=64, stride=24)
    with pytest.raises(ValidationError, match="fine_stride"):
        MosaicCalibration(stride=32, fine_stride=24)
    with pytest.raises(ValidationError, match="max_period"):
        MosaicCalibration(max_period=40)
    with pytest.raises(ValidationError, match="wider than island_opening"):
        MosaicCalibration(island_opening=3, extra_openings=(3,))
    with pytest.raises(ValidationError, match="extra"):
        MosaicFilterConfig(tile_size=64)
    # The calibration is not a user's knob: the filter's config refuses it.
    with pytest.raises(ValidationError, match="extra"):
        MosaicFilterConfig(tile=64)
    with pytest.raises(ValidationError, match="detector"):
        MosaicFilterConfig(detector="magic")


@pytest.mark.parametrize("period", [8, 24])
def test_grid_contrast_is_exact_when_the_lines_dominate(period: int) -> None:
    # Lines of 40 grey levels over 0.3 elsewhere: the soft maximum off the grid is a sum
    # of ~1e-27 terms, which "total minus grid lines" cancelled to 0 in float32.
    cfg = MosaicCalibration()
    profile = np.full((1, cfg.tile), 0.3, np.float32)
    profile[0, period - 1 :: period] = 40.0
    best = pixelation._best_grid(profile, cfg)
    assert best["period"][0] == period and best["phase"][0] == period - 1
    expected = np.log((40.0 + LOG_EPS) / (0.3 + LOG_EPS))
    assert best["contrast"][0] == pytest.approx(expected, abs=1e-3)
    assert best["interior"][0] == pytest.approx(0.3, abs=1e-5)


def test_row_profiles_of_gated_tiles_match_the_full_plane() -> None:
    luma = np.asarray(photo("astronaut").convert("L"))
    rows, cols = np.array([0, 3, 7]), np.array([2, 0, 9])
    got = pixelation._row_profiles_at(luma, rows, cols, 64, 32)
    dy = np.abs(np.diff(luma.astype(np.int16), axis=0))
    for k, (i, j) in enumerate(zip(rows, cols, strict=True)):
        want = dy[i * 32 : i * 32 + 64, j * 32 : j * 32 + 64].mean(1)
        np.testing.assert_allclose(got[k], want, rtol=1e-6)


@pytest.mark.parametrize(("name", "box", "sigma"), [
    ("coffee", (150, 380, 290, 520), 6),
    ("chelsea", (80, 120, 200, 250), 12),
])
def test_more_blurred_boxes_are_rejected(name: str, box: tuple, sigma: float) -> None:
    result = detect_mosaic(blurred(name, box, sigma), HAND)
    assert result.kind == "blur" and result.score >= 1.0


def test_face_boxes_keep_to_their_documented_size() -> None:
    rng = np.random.default_rng(3)
    for _ in range(200):
        h, w = (int(v) for v in rng.integers(400, 1400, 2))
        y0, x0, y1, x1 = _face_box(rng, h, w)
        bh, bw = y1 - y0, x1 - x0
        assert 0.74 <= bh / bw <= 1.34 and min(bh, bw) >= 0.85 * 112
        assert bh * bw <= 0.10 * h * w + 2 * max(h, w)  # int() rounding
        assert max(bh, bw) <= max(0.35 * min(h, w), 112 * 1.16)


def _energy_of(pixels: np.ndarray) -> np.ndarray:
    return planes._sharpness_map(pixels, 8)[1]


def test_sides_of_a_pasted_box_are_straight_steps_into_texture() -> None:
    rng = np.random.default_rng(0)
    texture = rng.normal(128, 30, (200, 200))
    box = (60, 70, 140, 150)  # y0, x0, y1, x1
    pixels = texture.copy()
    pixels[60:140, 70:150] = ndimage.gaussian_filter(texture, 8)[60:140, 70:150]
    energy = _energy_of(pixels)
    shifted = tuple(v - 1 for v in box)  # the energy plane starts one pixel in
    step, line = blur_islands._box_sides(energy, shifted, 8, MosaicCalibration())
    assert (step > 3).all() and (line < 0.5).all()
    assert blur_islands._is_box(energy, shifted, 8, MosaicCalibration())


def test_a_flat_cell_ringed_by_a_thin_line_is_not_a_box() -> None:
    # A tile and its grout (or a square of graph paper): straight sharp sides too, but
    # what lies beyond the line is flat again, not texture. 2 px of grout on the reduced
    # plane (1-5 px at full resolution in the evaluation's tiles).
    pixels = np.full((200, 200), 200.0)
    pixels[58:60, 58:142] = pixels[140:142, 58:142] = 60.0
    pixels[58:142, 58:60] = pixels[58:142, 140:142] = 60.0
    energy = _energy_of(pixels + np.random.default_rng(1).normal(0, 1, pixels.shape))
    _, line = blur_islands._box_sides(energy, (59, 59, 139, 139), 8, MosaicCalibration())
    assert np.median(line) > MosaicCalibration().max_edge_line
    assert not blur_islands._is_box(energy, (59, 59, 139, 139), 8, MosaicCalibration())


def test_a_round_flat_area_has_no_straight_sides() -> None:
    rng = np.random.default_rng(2)
    pixels = rng.normal(128, 30, (200, 200))
    yy, xx = np.mgrid[0:200, 0:200]
    pixels[np.hypot(yy - 100, xx - 100) < 45] = 128.0
    energy = _energy_of(pixels)
    assert not blur_islands._is_box(energy, (54, 54, 145, 145), 8, MosaicCalibration())


def eval_sample(category: str, seed: int, index: int) -> Image.Image:
    """The ``index``-th image of ``category`` in ``python -m filters.mosaic_eval --seed``
    (each category draws from its own generator, so fewer per category give the same)."""
    return list(generate(index + 1, seed, categories=(category,)))[index].image


def test_a_grid_faint_one_way_counts_when_its_lines_are_strong_on_average() -> None:
    # A pixelated box (14 px cells, feathered) from the evaluation's calibration seeds:
    # across its rows the soft minimum over grid lines fails, as some lines lie between
    # cells of nearly one colour; at the period the other direction found, their mean
    # is strong and the cells are flat. On the stride-32 tiles alone (the stride-16 tiles
    # around them find this box both ways too).
    image = eval_sample("pixelate_feather", seed=2, index=11)
    coarse = MosaicCalibration(fine_stride=0, weak_contrast=0.0)
    assert detect_mosaic(image, HAND, coarse).score < 1.0
    result = detect_mosaic(image, HAND, MosaicCalibration(fine_stride=0))
    assert result.kind == "pixelation" and result.period == 14 and result.score >= 1.0


def test_a_grid_seen_one_way_on_the_coarse_tiles_is_searched_on_the_fine_grid() -> None:
    # A pixelated box (19 px cells) from the calibration seeds: on the stride-32 tiles over
    # it the grid shows one way only (across the rows the soft minimum fails), and those
    # tiles alone fall short; the stride-16 tiles around them find it both ways.
    image = eval_sample("pixelate_center", seed=5, index=14)
    luma = np.asarray(image.convert("L"))
    dx = planes._horizontal_differences(luma)
    coarse_cfg = MosaicCalibration(fine_stride=0)
    gx, gy, step = pixelation._grids(pixelation._column_profiles(dx, 64, 32), dx, luma, coarse_cfg)
    assert step == 32
    over = np.zeros_like(gx["keep"])
    over[7:10, 2:6] = True  # the tiles overlapping the box (242, 73, 344, 194)
    assert not (np.minimum(gx["contrast"], gy["contrast"])[over] >= 0).any()
    assert (np.maximum(gx["contrast"], gy["contrast"])[over] >= 0.3).any()
    assert detect_mosaic(image, HAND, coarse_cfg).score < 1.0
    result = detect_mosaic(image, HAND)
    assert result.kind == "pixelation" and result.period == 19 and result.score >= 1.0


def test_the_fine_search_keeps_every_tile_the_coarse_search_kept() -> None:
    # Here the coarse tiles find the box on their own; the fine search, set off by a
    # promising tile elsewhere, used to replace them with that tile's neighbours only.
    image = eval_sample("pixelate_avg", seed=5, index=18)
    luma = np.asarray(image.convert("L"))
    dx = planes._horizontal_differences(luma)
    px = pixelation._column_profiles(dx, 64, 32)
    coarse, _, _ = pixelation._grids(px, dx, luma, MosaicCalibration(fine_stride=0))
    fine, _, step = pixelation._grids(px, dx, luma, MosaicCalibration())
    assert step == 16
    rows, cols = np.nonzero(coarse["keep"])
    assert fine["keep"][rows * 2, cols * 2].all()
    assert detect_mosaic(image, HAND, MosaicCalibration(fine_stride=0)).score >= 1.0
    result = detect_mosaic(image, HAND)
    assert result.kind == "pixelation" and result.period == 21 and result.score >= 1.0


def test_a_blurred_box_merged_with_a_flat_neighbour_stands_alone_at_a_wider_opening() -> None:
    image = eval_sample("blur_box", seed=2, index=7)
    assert detect_mosaic(image, HAND, MosaicCalibration(extra_openings=())).score < 1.0
    result = detect_mosaic(image, HAND)
    assert result.kind == "blur" and result.score >= 1.0


@pytest.mark.parametrize("size", [3, 5, 7])
def test_fast_closing_matches_scipy(size: int) -> None:
    rel = np.random.default_rng(size).normal(-3, 2, (23, 31)).astype(np.float32)
    expected = ndimage.grey_closing(rel, size=(size, size), mode="constant", cval=np.inf)
    assert np.array_equal(planes._closing(rel, size), expected)


def test_a_blurred_flat_area_counts_when_no_line_crosses_it() -> None:
    # Grass blurred at a large sigma (evaluation seed 21): JPEG leaves nearly every 8x8
    # block inside it flat, as it does two neighbouring tiles of one colour.
    image = eval_sample("blur_box", seed=21, index=7)
    result = detect_mosaic(image, HAND)
    assert result.kind == "blur" and result.score >= 1.0
    luma = np.asarray(image.convert("L"))
    assert blur_islands._jpeg_flat_share(luma, result.box) > MosaicCalibration().max_flat_cells
    # Rejecting every flat island, as the detector did before, loses it.
    assert detect_mosaic(image, HAND, MosaicCalibration(max_flat_line=0.0)).score < 1.0


def test_two_tiles_of_one_colour_with_grout_across_are_not_a_blurred_box() -> None:
    image = eval_sample("tex_tiles", seed=2, index=20)
    lenient = detect_mosaic(image, HAND, MosaicCalibration(max_flat_cells=1.0))
    assert lenient.kind == "blur" and lenient.score >= 1.0
    assert detect_mosaic(image, HAND).score < 1.0


def test_crossing_line_sees_grout_across_a_flat_box_and_none_across_a_blur() -> None:
    rng = np.random.default_rng(4)
    flat = np.full((200, 200), 128.0) + rng.normal(0, 1, (200, 200))
    tiles = flat.copy()
    tiles[98:102, 20:180] = 100.0  # 2 px of grout on the half-size plane
    blur = ndimage.gaussian_filter(rng.normal(128, 30, (200, 200)), 10)
    box, factor = (40, 40, 160, 160), 2  # full-res px on a plane reduced 2x
    limit = MosaicCalibration().max_flat_line
    assert blur_islands._crossing_line(tiles[::2, ::2], box, factor) > limit
    assert blur_islands._crossing_line(flat[::2, ::2], box, factor) < limit
    assert blur_islands._crossing_line(blur[::2, ::2], box, factor) < limit
