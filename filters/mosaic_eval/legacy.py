"""The first evaluation set (2026-11), on which the hand-built detector was calibrated.

Kept for the regression cases of ``tests/filters/test_mosaic.py`` and as the source of
the texture and depth-of-field negatives of the widened set (``families.py``).

Every image starts from a real photograph shipped by scikit-image or matplotlib (no
download), cropped and flipped at random, then:

positives
  ``pixelate_avg``      a face-sized box pixelated with averaged cells (block 4-32 px)
  ``pixelate_center``   the same with centre-sampled cells
  ``pixelate_feather``  averaged or centre-sampled, blended in with a feathered edge
  ``blur_box``          a face-sized box replaced by its Gaussian blur (sigma 4-20)
negatives
  ``clean``             the photograph as is
  ``heavy_jpeg``        quality 8-30, where JPEG's own 8x8 blocks show
  ``shallow_dof``       background blurred with depth fall-off around a sharp subject
  ``tex_tiles``         square tiles with grout (incl. small "mosaic" bathroom tiles)
  ``tex_brick``         scikit-image's brick photo and synthetic brick bond
  ``tex_fabric``        woven threads, over/under
  ``tex_grid``          graph paper: thin lines every 8-40 px
  ``tex_screen``        a photo shown on an LED/LCD panel: cells with dark gaps

A positive's paste must change its box's luma by 4 grey levels or more on average
(JPEG at quality 60 alone changes such a box by about 3.6): a blurred or pixelated patch
of sky is the photograph unchanged, so such a box is drawn again elsewhere in the photo.
Everything is then JPEG-compressed at quality 60-95 (the heavy-JPEG negatives lower).
"Face-sized" is a box of 0.75-1.33 aspect whose side (square root of its area) runs from
112 px up to 10 % of the image, its longer edge at most 35 % of the short edge; on the
smallest crops the 112-px minimum wins (up to 14 %). The photos are 300-1400 px,
smaller than SA-1B's ~1500x2250.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

POSITIVE = ("pixelate_avg", "pixelate_center", "pixelate_feather", "blur_box")
NEGATIVE = ("clean", "heavy_jpeg", "shallow_dof", "tex_tiles", "tex_brick", "tex_fabric",
            "tex_grid", "tex_screen")
CATEGORIES = POSITIVE + NEGATIVE
_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "retina",
           "immunohistochemistry", "camera", "coins", "grass", "gravel", "motorcycle_left",
           "motorcycle_right", "brick")
MIN_FACE = 112
# A paste must change its box's luma by this much on average (grey levels): JPEG at
# quality 60 alone changes a face-sized box of these photos by 3.6 (median; 1.2 at 95).
MIN_VISIBLE_CHANGE = 4.0
MAX_REDRAWS = 50


@lru_cache(maxsize=1)
def photographs() -> tuple[np.ndarray, ...]:
    """Real photographs (RGB uint8) shipped by scikit-image and matplotlib."""
    import matplotlib.cbook
    import skimage.data

    out = []
    for name in _PHOTOS:
        if name.startswith("motorcycle"):
            image = skimage.io.imread(Path(skimage.data.__file__).parent / f"{name}.png")
        else:
            image = getattr(skimage.data, name)()
        if image.ndim == 2:
            image = np.stack([image] * 3, axis=-1)
        out.append(np.ascontiguousarray(image[..., :3]))
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as fh:
        out.append(np.asarray(Image.open(fh).convert("RGB")))
    return tuple(out)


def _photo(rng: np.random.Generator, min_side: int = 300) -> np.ndarray:
    """A random crop (>= 300 px) of a photograph, at its own resolution.

    Upscaling towards SA-1B's size was tried and rejected: bicubic upscaling softens
    the whole photo, which is not what a sharp 1500x2250 original looks like.
    """
    pool = [p for p in photographs() if min(p.shape[:2]) >= min_side]
    img = pool[rng.integers(len(pool))]
    h, w = img.shape[:2]
    ch, cw = rng.integers(min(h, 300), h + 1), rng.integers(min(w, 300), w + 1)
    y, x = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
    img = img[y : y + ch, x : x + cw]
    if rng.random() < 0.5:
        img = img[:, ::-1]
    return np.ascontiguousarray(img)


def _face_box(rng: np.random.Generator, h: int, w: int, min_side: int = MIN_FACE
              ) -> tuple[int, int, int, int]:
    # Faces: a side (square root of the area) from 112 px up to 10 % of the image, the
    # longer edge at most 35 % of the image's short edge, aspect 0.75-1.33. The area, not
    # one edge, is what is drawn: scaling one edge by the aspect put boxes up to 13 %.
    u, aspect = rng.random(), rng.uniform(0.75, 1.33)
    root = aspect**0.5  # height = side * root, width = side / root
    top = min(0.35 * min(h, w) / max(root, 1 / root), (0.10 * h * w) ** 0.5)
    side = min_side + u * max(1.0, top - min_side)
    bh, bw = int(min(side * root, h - 2)), int(min(side / root, w - 2))
    # Off the border: the detector leaves regions touching it alone (soft backgrounds).
    margin = 32
    bh, bw = min(bh, h - 2 * margin - 1), min(bw, w - 2 * margin - 1)
    y, x = int(rng.integers(margin, h - bh - margin)), int(rng.integers(margin, w - bw - margin))
    return y, x, y + bh, x + bw


def _pixelate(region: np.ndarray, block: int, centre: bool) -> np.ndarray:
    h, w = region.shape[:2]
    ny, nx = -(-h // block), -(-w // block)
    pad = np.pad(region.astype(np.float32), ((0, ny * block - h), (0, nx * block - w), (0, 0)),
                 mode="edge")
    cells = pad.reshape(ny, block, nx, block, 3)
    # Centre-sampled: what nearest-neighbour down/up-scaling makes; averaged: box filter.
    values = cells[:, block // 2, :, block // 2] if centre else cells.mean(axis=(1, 3))
    full = np.repeat(np.repeat(values, block, axis=0), block, axis=1)
    return full[:h, :w]


def _feather(h: int, w: int, width: float) -> np.ndarray:
    yy = np.minimum(np.arange(h), np.arange(h)[::-1])[:, None]
    xx = np.minimum(np.arange(w), np.arange(w)[::-1])[None, :]
    return np.clip(np.minimum(yy, xx) / width, 0, 1)[..., None]


def _paste(img: np.ndarray, box: tuple[int, int, int, int], new: np.ndarray,
           alpha: np.ndarray | None = None) -> np.ndarray:
    y0, x0, y1, x1 = box
    out = img.astype(np.float32)
    old = out[y0:y1, x0:x1]
    out[y0:y1, x0:x1] = new if alpha is None else alpha * new + (1 - alpha) * old
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


Box = tuple[int, int, int, int]


def _luma_change(before: np.ndarray, after: np.ndarray, box: Box) -> float:
    """Mean absolute change of the box's luma (BT.601), in grey levels."""
    y0, x0, y1, x1 = box
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    old = before[y0:y1, x0:x1].astype(np.float32) @ weights
    new = after[y0:y1, x0:x1].astype(np.float32) @ weights
    return float(np.abs(new - old).mean())


def _paste_visibly(img: np.ndarray, box: Box, render: Callable[[Box], np.ndarray],
                   draw_box: Callable[[np.random.Generator], Box]
                   ) -> tuple[np.ndarray, Box] | None:
    """``render(box)`` pasted where it changes the box by ``MIN_VISIBLE_CHANGE`` or more.

    A pixelated or blurred patch of sky or of a dark background is the photograph
    unchanged, not a positive: such a box is drawn again elsewhere in the same photo, with
    the same block size or sigma. The redraws take their own generator, seeded by the box
    that failed, so every sample whose first box was visible stays as it was. ``None``
    when no box of ``MAX_REDRAWS`` is visible (a smooth photo and a large block).
    """
    for attempt in range(MAX_REDRAWS + 1):
        if attempt:
            box = draw_box(_redraw_rng(box, attempt))
        out = render(box)
        if _luma_change(img, out, box) >= MIN_VISIBLE_CHANGE:
            return out, box
    return None


def _redraw_rng(box: Box, attempt: int) -> np.random.Generator:
    return np.random.default_rng([*box, attempt])


def _pixelated(rng: np.random.Generator, mode: str) -> tuple[np.ndarray, Box]:
    img = _photo(rng)
    block = int(rng.integers(4, 33))
    min_side = max(MIN_FACE, 3 * block)
    box = _face_box(rng, *img.shape[:2], min_side=min_side)
    centre = mode == "center" or (mode == "feather" and rng.random() < 0.5)
    width = rng.uniform(3, 16) if mode == "feather" else 0.0

    def render(box: Box) -> np.ndarray:
        y0, x0, y1, x1 = box
        new = _pixelate(img[y0:y1, x0:x1], block, centre)
        alpha = _feather(y1 - y0, x1 - x0, width) if mode == "feather" else None
        return _paste(img, box, new, alpha)

    found = _paste_visibly(img, box, render,
                           lambda r: _face_box(r, *img.shape[:2], min_side=min_side))
    # Nowhere visible: another photo and block size, from a generator of its own.
    return found or _pixelated(_redraw_rng(box, MAX_REDRAWS + 1), mode)


def _blur_box(rng: np.random.Generator) -> tuple[np.ndarray, Box]:
    img = _photo(rng)
    sigma = rng.uniform(4, 20)
    box = _face_box(rng, *img.shape[:2])
    blurred = ndimage.gaussian_filter(img.astype(np.float32), sigma=(sigma, sigma, 0))

    def render(box: Box) -> np.ndarray:
        y0, x0, y1, x1 = box
        return _paste(img, box, blurred[y0:y1, x0:x1])

    found = _paste_visibly(img, box, render, lambda r: _face_box(r, *img.shape[:2]))
    return found or _blur_box(_redraw_rng(box, MAX_REDRAWS + 1))


def _shallow_dof(rng: np.random.Generator) -> np.ndarray:
    img = _photo(rng).astype(np.float32)
    h, w = img.shape[:2]
    sigma = rng.uniform(2, 10)
    blurred = ndimage.gaussian_filter(img, sigma=(sigma, sigma, 0))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if rng.random() < 0.5:  # subject in focus: an ellipse, soft fall-off outside it
        cy, cx = rng.uniform(0.35, 0.65) * h, rng.uniform(0.35, 0.65) * w
        ry, rx = rng.uniform(0.2, 0.4) * h, rng.uniform(0.2, 0.4) * w
        d = np.sqrt(((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2)
    else:  # focal plane across the frame (ground in focus, distance soft)
        d = 1 + (rng.uniform(0.3, 0.6) * h - yy) / (0.2 * h)
    weight = np.clip(d - 1, 0, 1)[..., None]  # 0 in focus, 1 fully blurred
    out = weight * blurred + (1 - weight) * img
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _finish_texture(rng: np.random.Generator, tex: np.ndarray) -> np.ndarray:
    """Light, noise and sometimes a small rotation, as a photograph of it would have."""
    h, w = tex.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    light = 1 + 0.25 * (np.sin(yy / h * rng.uniform(1, 3)) * np.cos(xx / w * rng.uniform(1, 3)))
    tex = tex * light[..., None] + rng.normal(0, rng.uniform(0.5, 4), tex.shape)
    tex = np.clip(tex, 0, 255).astype(np.uint8)
    if rng.random() < 0.4:  # most photographed textures are not pixel-aligned
        angle = rng.uniform(-8, 8)
        big = Image.fromarray(tex).rotate(angle, resample=Image.BICUBIC, expand=False)
        m = int(0.1 * min(h, w))
        tex = np.asarray(big)[m : h - m, m : w - m]
    return tex


def _canvas(rng: np.random.Generator, canvas: tuple[int, int] | None = None) -> tuple[int, int]:
    """400-800 px a side, or ``canvas`` (h, w) when given (drawn either way, so the
    generator's stream is the same)."""
    drawn = int(rng.integers(400, 800)), int(rng.integers(400, 800))
    return canvas or drawn


def _colour(rng: np.random.Generator, base: np.ndarray, spread: float) -> np.ndarray:
    return np.clip(base + rng.normal(0, spread, 3), 0, 255)


def _tiles(rng: np.random.Generator, canvas: tuple[int, int] | None = None
           ) -> np.ndarray:
    h, w = _canvas(rng, canvas)
    size = int(rng.integers(10, 24) if rng.random() < 0.4 else rng.integers(24, 90))
    grout = int(rng.integers(1, 6))
    period = size + grout
    base = rng.uniform(40, 230, 3)
    spread = rng.uniform(2, 40)  # uniform floor tiles to colourful bathroom mosaics
    grout_col = rng.uniform(60, 240, 3)
    ny, nx = h // period + 2, w // period + 2
    cols = np.stack([_colour(rng, base, spread) for _ in range(ny * nx)]).reshape(ny, nx, 3)
    yy, xx = np.mgrid[0:h, 0:w]
    oy, ox = rng.integers(0, period, 2)
    ty, tx = (yy + oy) // period, (xx + ox) // period
    tex = cols[ty, tx]
    in_grout = ((yy + oy) % period < grout) | ((xx + ox) % period < grout)
    tex[in_grout] = grout_col
    return _finish_texture(rng, tex)


def _brick(rng: np.random.Generator, canvas: tuple[int, int] | None = None) -> np.ndarray:
    if rng.random() < 0.5:
        import skimage.data

        real = skimage.data.brick()
        scale = rng.uniform(1.0, 1.6)
        size = (int(512 * scale), int(512 * scale)) if canvas is None else canvas[::-1]
        img = Image.fromarray(real).resize(size, Image.BICUBIC)
        return np.stack([np.asarray(img)] * 3, axis=-1)
    h, w = _canvas(rng, canvas)
    bh, bw = int(rng.integers(14, 40)), 0
    bw = int(bh * rng.uniform(1.8, 3.0))
    mortar = int(rng.integers(2, 6))
    base = rng.uniform([120, 40, 30], [200, 90, 70])
    yy, xx = np.mgrid[0:h, 0:w]
    row = yy // (bh + mortar)
    shift = (row % 2) * (bw + mortar) // 2
    col = (xx + shift) // (bw + mortar)
    rng_cols = rng.normal(0, 18, (row.max() + 1, col.max() + 2, 3))
    tex = np.clip(base + rng_cols[row, col], 0, 255)
    in_mortar = (yy % (bh + mortar) < mortar) | ((xx + shift) % (bw + mortar) < mortar)
    tex[in_mortar] = rng.uniform(150, 210)
    return _finish_texture(rng, tex)


def _fabric(rng: np.random.Generator, canvas: tuple[int, int] | None = None
            ) -> np.ndarray:
    h, w = _canvas(rng, canvas)
    p = int(rng.integers(4, 14))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    warp = 0.5 + 0.5 * np.cos(np.pi * ((xx % p) / p - 0.5) * 2)
    weft = 0.5 + 0.5 * np.cos(np.pi * ((yy % p) / p - 0.5) * 2)
    over = ((xx // p + yy // p) % 2).astype(np.float32)
    lum = over * warp + (1 - over) * weft
    c1, c2 = rng.uniform(30, 230, 3), rng.uniform(30, 230, 3)
    tex = lum[..., None] * c1 + (1 - lum[..., None]) * c2
    return _finish_texture(rng, tex)


def _grid(rng: np.random.Generator, canvas: tuple[int, int] | None = None
          ) -> np.ndarray:
    h, w = _canvas(rng, canvas)
    p = int(rng.integers(8, 41))
    width = int(rng.integers(1, 3))
    paper = rng.uniform(200, 250, 3)
    ink = rng.uniform(40, 180, 3)
    yy, xx = np.mgrid[0:h, 0:w]
    tex = np.broadcast_to(paper, (h, w, 3)).copy()
    line = (yy % p < width) | (xx % p < width)
    major = (yy % (5 * p) < width + 1) | (xx % (5 * p) < width + 1)
    tex[line] = 0.6 * paper + 0.4 * ink
    tex[major] = ink
    return _finish_texture(rng, tex)


def _screen(rng: np.random.Generator, photo: np.ndarray | None = None) -> np.ndarray:
    img = (_photo(rng) if photo is None else photo).astype(np.float32)
    cell = int(rng.integers(3, 9))
    gap = int(rng.integers(1, max(2, cell // 2)))
    h, w = img.shape[:2]
    small = np.asarray(Image.fromarray(img.astype(np.uint8)).resize(
        (max(1, w // cell), max(1, h // cell)), Image.BOX)).astype(np.float32)
    big = np.repeat(np.repeat(small, cell, axis=0), cell, axis=1)
    yy, xx = np.mgrid[0 : big.shape[0], 0 : big.shape[1]]
    dark = (yy % cell < gap) | (xx % cell < gap)
    big[dark] *= 0.15
    if rng.random() < 0.5:  # the camera's own softness
        big = ndimage.gaussian_filter(big, sigma=(0.6, 0.6, 0))
    return _finish_texture(rng, big)


def _jpeg(img: np.ndarray, quality: int) -> Image.Image:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


_MAKERS: dict[str, Callable[[np.random.Generator], np.ndarray | tuple[np.ndarray, Box]]] = {
    "pixelate_avg": lambda r: _pixelated(r, "avg"),
    "pixelate_center": lambda r: _pixelated(r, "center"),
    "pixelate_feather": lambda r: _pixelated(r, "feather"),
    "blur_box": _blur_box,
    "clean": _photo,
    "heavy_jpeg": _photo,
    "shallow_dof": _shallow_dof,
    "tex_tiles": _tiles,
    "tex_brick": _brick,
    "tex_fabric": _fabric,
    "tex_grid": _grid,
    "tex_screen": _screen,
}


@dataclass(frozen=True)
class Sample:
    category: str
    positive: bool
    image: Image.Image
    box: Box | None = None  # (y0, x0, y1, x1) of the pasted region, positives only


def generate(n: int, seed: int = 0, categories: tuple[str, ...] = CATEGORIES
             ) -> Iterator[Sample]:
    """``n`` samples per category, reproducible from ``seed``; each category draws from
    its own generator, so asking for fewer categories gives the same images."""
    unknown = sorted(set(categories) - set(CATEGORIES))
    if unknown:
        raise ValueError(f"unknown categories {unknown}; known: {', '.join(CATEGORIES)}")
    for ci, category in enumerate(CATEGORIES):
        if category not in categories:
            continue
        rng = np.random.default_rng([seed, ci])
        for _ in range(n):
            made = _MAKERS[category](rng)
            pixels, box = made if isinstance(made, tuple) else (made, None)
            quality = int(rng.integers(8, 31) if category == "heavy_jpeg" else rng.integers(60, 96))
            yield Sample(category, category in POSITIVE, _jpeg(pixels, quality), box)
