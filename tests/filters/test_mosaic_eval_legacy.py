"""The first evaluation set (``filters.mosaic_eval.legacy``): reproducible, with pastes
that show. The widened set is tested in ``test_mosaic_eval_families.py``."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from filters.mosaic_eval.legacy import (
    CATEGORIES,
    MAX_REDRAWS,
    MIN_VISIBLE_CHANGE,
    POSITIVE,
    _face_box,
    _luma_change,
    _paste,
    _paste_visibly,
    generate,
)


def test_generator_is_reproducible_and_labelled() -> None:
    first = list(generate(1, seed=5))
    again = list(generate(1, seed=5))
    assert [s.category for s in first] == list(CATEGORIES)
    for a, b in zip(first, again, strict=True):
        assert a.image.tobytes() == b.image.tobytes()
        assert a.positive == (a.category in POSITIVE)
        assert (a.box is not None) == a.positive
        if a.box:
            y0, x0, y1, x1 = a.box
            assert 0 < y0 < y1 < a.image.height and 0 < x0 < x1 < a.image.width


def test_fewer_categories_give_the_same_images() -> None:
    alone = list(generate(2, seed=3, categories=("blur_box", "tex_grid")))
    together = [s for s in generate(2, seed=3) if s.category in ("blur_box", "tex_grid")]
    assert [s.image.tobytes() for s in alone] == [s.image.tobytes() for s in together]


def test_an_unknown_category_is_named() -> None:
    with pytest.raises(ValueError, match=r"unknown categories \['blur'\]; known: pixelate_avg"):
        next(generate(1, categories=("blur_box", "blur")))


def _sky_and_texture() -> np.ndarray:
    """Left half flat (sky), right half texture."""
    rng = np.random.default_rng(0)
    img = np.full((400, 600, 3), 120, np.uint8)
    img[:, 300:] = rng.integers(0, 256, (400, 300, 3), dtype=np.uint8)
    return img


def test_a_paste_over_a_flat_area_is_drawn_again_where_it_shows() -> None:
    img = _sky_and_texture()
    blurred = ndimage.gaussian_filter(img.astype(np.float32), (6, 6, 0))

    def render(box: tuple) -> np.ndarray:
        y0, x0, y1, x1 = box
        return _paste(img, box, blurred[y0:y1, x0:x1])

    def draw(rng: np.random.Generator) -> tuple:
        return _face_box(rng, 400, 600)

    sky = (100, 60, 220, 180)
    assert _luma_change(img, render(sky), sky) < MIN_VISIBLE_CHANGE
    out, box = _paste_visibly(img, sky, render, draw)
    assert box != sky and box[3] > 300  # moved until it covers texture
    assert _luma_change(img, out, box) >= MIN_VISIBLE_CHANGE
    assert np.array_equal(out, render(box))
    assert _paste_visibly(img, sky, render, draw)[1] == box  # the same redraws again
    # A box that shows at once stays where it was drawn.
    texture = (100, 400, 220, 520)
    assert _paste_visibly(img, texture, render, draw)[1] == texture


def test_a_paste_that_shows_nowhere_gives_up_after_the_redraws() -> None:
    img = _sky_and_texture()
    calls = []

    def unchanged(box: tuple) -> np.ndarray:
        calls.append(box)
        return img

    assert _paste_visibly(img, (100, 60, 220, 180), unchanged,
                          lambda rng: _face_box(rng, 400, 600)) is None
    assert len(calls) == MAX_REDRAWS + 1
