"""The families of the widened evaluation: what is pasted, through which shapes, on
which photos; and the negatives, each a family of its own.

A family is calibration or held out. Calibration families are the only ones a
detector's thresholds or weights may see (``filters.train_mosaic`` trains on them, with
seeds of its own); held-out families differ in operation, shape, mask and photograph
(the held-out photos are never in a calibration image), so their figures say how a
detector does on what it was not tuned on. Seeds of one family are not held out.

Every family comes in two sizes: ``small`` (a crop of a packaged photo at its own
resolution, 300-1400 px) and ``sa1b`` (a crop upscaled to 1500x2250, either way up, with
an unsharp mask and sensor noise so it is not uniformly soft: SA-1B's size).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from filters.mosaic_eval import legacy
from filters.mosaic_eval.regions import Region, draw_region, luma_change, operate, region_sizes

SA1B = (1500, 2250)  # (short, long) side of a typical SA-1B image
SIZES = ("small", "sa1b")
CALIBRATION_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field",
                      "retina", "camera", "coins", "grass", "brick")
HELD_OUT_PHOTOS = ("immunohistochemistry", "gravel", "motorcycle_left", "motorcycle_right",
                   "grace_hopper")
# A paste must change the luma under its mask by this much on average (grey levels):
# JPEG at quality 60 alone changes a face-sized box by about 3.6.
MIN_VISIBLE_CHANGE = 4.0
MAX_REDRAWS = 20


@lru_cache(maxsize=1)
def _photos_by_name() -> dict[str, np.ndarray]:
    names = (*legacy._PHOTOS, "grace_hopper")
    return dict(zip(names, legacy.photographs(), strict=True))


def base_photo(rng: np.random.Generator, size: str, held_out: bool) -> np.ndarray:
    """A crop of a photo of the split's pool: at its own resolution (``small``) or
    upscaled to SA-1B's size (``sa1b``)."""
    pool = HELD_OUT_PHOTOS if held_out else CALIBRATION_PHOTOS
    img = _photos_by_name()[pool[rng.integers(len(pool))]]
    h, w = img.shape[:2]
    if size == "small":
        ch, cw = rng.integers(min(h, 300), h + 1), rng.integers(min(w, 300), w + 1)
    else:
        portrait = rng.random() < 0.25
        aspect = SA1B[0] / SA1B[1] if not portrait else SA1B[1] / SA1B[0]  # h / w
        scale = rng.uniform(0.6, 1.0)
        cw = int(min(w, h / aspect) * scale)
        ch = int(cw * aspect)
    y, x = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
    crop = img[y : y + ch, x : x + cw]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    if size == "small":
        return np.ascontiguousarray(crop)
    out_hw = (SA1B[1], SA1B[0]) if ch > cw else SA1B
    big = Image.fromarray(np.ascontiguousarray(crop)).resize(out_hw[::-1], Image.LANCZOS)
    big = big.filter(ImageFilter.UnsharpMask(radius=2, percent=int(rng.uniform(60, 140)),
                                             threshold=2))
    noise = rng.normal(0, rng.uniform(1.5, 4), (*out_hw, 1)).astype(np.float32)
    return np.clip(np.asarray(big, np.float32) + noise, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class Paste:
    """What a positive family pastes: operations, shapes, feather probability."""

    operations: tuple[str, ...]
    shapes: tuple[str, ...]
    feather: float = 0.0  # probability of a feathered mask


def _strength(rng: np.random.Generator, operation: str, region: Region) -> float:
    side = min(region.box[2] - region.box[0], region.box[3] - region.box[1])
    if operation == "gaussian":
        return rng.uniform(3, 30)
    if operation == "box":
        return rng.integers(7, 42)
    if operation == "median":
        return rng.integers(5, 22)
    return int(rng.integers(4, max(5, min(49, side // 2))))


def pasted(rng: np.random.Generator, size: str, held_out: bool, paste: Paste
           ) -> tuple[np.ndarray, list[Region]]:
    """A photo with 1-3 regions (0.2-10 % of it together) pasted where they show."""
    for _ in range(MAX_REDRAWS):
        img = base_photo(rng, size, held_out)
        h, w = img.shape[:2]
        count = int(rng.integers(1, 4))
        min_side = 48 if size == "sa1b" else 64
        regions: list[Region] = []
        taken = np.zeros((h // 16 + 1, w // 16 + 1), bool)
        for fraction in region_sizes(rng, h, w, count, min_side=min_side):
            shape = paste.shapes[rng.integers(len(paste.shapes))]
            operation = paste.operations[rng.integers(len(paste.operations))]
            feather = rng.uniform(2, 12) if rng.random() < paste.feather else 0.0
            centre = bool(rng.random() < 0.5)
            for _ in range(MAX_REDRAWS):
                region = draw_region(rng, h, w, fraction, shape, feather)
                y0, x0, y1, x1 = (v // 16 for v in region.box)
                if taken[y0 : y1 + 1, x0 : x1 + 1].any():
                    continue  # regions do not overlap
                out = operate(img, region, operation, _strength(rng, operation, region), centre)
                if luma_change(img, out, region) >= MIN_VISIBLE_CHANGE:
                    img = out
                    regions.append(region)
                    taken[y0 : y1 + 1, x0 : x1 + 1] = True
                    break
        if regions:
            return img, regions
    raise RuntimeError("no visible paste after redraws")  # pragma: no cover


# Negatives ------------------------------------------------------------------------


def _scale(size: str) -> float:
    return 3.0 if size == "sa1b" else 1.0


def _shallow_dof(rng: np.random.Generator, size: str, held_out: bool) -> np.ndarray:
    img = base_photo(rng, size, held_out).astype(np.float32)
    h, w = img.shape[:2]
    blurred = cv2.GaussianBlur(img, (0, 0), rng.uniform(2, 10) * _scale(size))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if rng.random() < 0.5:
        cy, cx = rng.uniform(0.35, 0.65) * h, rng.uniform(0.35, 0.65) * w
        ry, rx = rng.uniform(0.2, 0.4) * h, rng.uniform(0.2, 0.4) * w
        d = np.sqrt(((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2)
    else:
        d = 1 + (rng.uniform(0.3, 0.6) * h - yy) / (0.2 * h)
    weight = np.clip(d - 1, 0, 1)[..., None]
    return np.clip(weight * blurred + (1 - weight) * img + 0.5, 0, 255).astype(np.uint8)


def _soft_focus(rng: np.random.Generator, size: str, held_out: bool) -> np.ndarray:
    img = base_photo(rng, size, held_out)
    return cv2.GaussianBlur(img, (0, 0), rng.uniform(1.0, 2.5) * (_scale(size) ** 0.5))


def _motion_blur(rng: np.random.Generator, size: str, held_out: bool) -> np.ndarray:
    img = base_photo(rng, size, held_out)
    length = int(rng.uniform(5, 15) * _scale(size)) | 1
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2] = 1
    rot = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), rng.uniform(0, 180), 1)
    kernel = cv2.warpAffine(kernel, rot, (length, length))
    return cv2.filter2D(img, -1, kernel / kernel.sum())


def _upscaled(rng: np.random.Generator, size: str, held_out: bool) -> np.ndarray:
    img = Image.fromarray(base_photo(rng, size, held_out))
    factor = rng.uniform(2.5, 6)
    low = img.resize((max(8, int(img.width / factor)), max(8, int(img.height / factor))),
                     Image.BOX)
    method = (Image.BICUBIC, Image.BILINEAR, Image.LANCZOS)[rng.integers(3)]
    return np.asarray(low.resize(img.size, method))


def _sky(rng: np.random.Generator, size: str, held_out: bool) -> np.ndarray:
    """A smooth sky (gradient and soft clouds) over a photo's lower part: a large flat
    area bounded by a straight horizon."""
    img = base_photo(rng, size, held_out).copy()
    h, w = img.shape[:2]
    top, bottom = rng.uniform(60, 200, 3), rng.uniform(150, 250, 3)
    t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    sky = top * (1 - t) + bottom * t
    clouds = cv2.resize(rng.normal(0, 1, (6, 9)).astype(np.float32), (w, h),
                        interpolation=cv2.INTER_CUBIC)
    sky = sky + rng.uniform(5, 25) * clouds[..., None]
    horizon = int(rng.uniform(0.3, 0.7) * h)
    out = img.astype(np.float32)
    out[:horizon] = sky[:horizon] + rng.normal(0, 1.0, (horizon, w, 1))
    return np.clip(out, 0, 255).astype(np.uint8)


def _canvas(size: str, rng: np.random.Generator) -> tuple[int, int]:
    if size == "sa1b":
        return (SA1B[1], SA1B[0]) if rng.random() < 0.25 else SA1B
    return int(rng.integers(400, 900)), int(rng.integers(400, 900))


def _textures(rng: np.random.Generator, size: str, held_out: bool) -> np.ndarray:
    canvas = _canvas(size, rng)
    if held_out:  # graph paper and a photo on an LED/LCD panel
        if rng.random() < 0.5:
            return legacy._grid(rng, canvas)
        photo = base_photo(rng, "small", held_out)
        screen = legacy._screen(rng, photo)
        return np.asarray(Image.fromarray(screen).resize(canvas[::-1], Image.BICUBIC)) \
            if size == "sa1b" else screen
    maker = (legacy._tiles, legacy._brick, legacy._fabric)[rng.integers(3)]
    return maker(rng, canvas)


def _font(px: int) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=px)


def _screenshot(rng: np.random.Generator, size: str, held_out: bool) -> np.ndarray:
    """A user interface: flat panels with straight edges, text, buttons, a photo."""
    h, w = _canvas(size, rng)
    s = _scale(size)
    bg = tuple(int(v) for v in rng.uniform(200, 255, 3))
    image = Image.new("RGB", (w, h), bg)
    draw = ImageDraw.Draw(image)
    bar = int(rng.uniform(30, 60) * s)
    draw.rectangle([0, 0, w, bar], fill=tuple(int(v) for v in rng.uniform(20, 120, 3)))
    side = int(rng.uniform(0.15, 0.3) * w)
    draw.rectangle([0, bar, side, h], fill=tuple(int(v) for v in rng.uniform(150, 240, 3)))
    photo = Image.fromarray(base_photo(rng, "small", held_out))
    pw = int(rng.uniform(0.25, 0.45) * w)
    photo = photo.resize((pw, max(8, int(pw * photo.height / photo.width))))
    image.paste(photo, (int(side + 0.05 * w), int(bar + 0.3 * h)))
    words = ("the", "mosaic", "filter", "image", "caption", "dataset", "blur", "region",
             "settings", "open", "save", "view", "help", "edit", "run", "report")
    y = bar + int(10 * s)
    while y < h - 20 * s:
        x = side + int(rng.uniform(10, 30) * s)
        px = int(rng.uniform(10, 18) * s)
        line = " ".join(words[i] for i in rng.integers(len(words), size=int(rng.integers(3, 12))))
        draw.text((x, y), line, fill=(20, 20, 20), font=_font(px))
        if rng.random() < 0.2:  # a button
            bx = int(x + rng.uniform(0.3, 0.6) * (w - x))
            draw.rounded_rectangle([bx, y, bx + int(90 * s), y + int(28 * s)], radius=int(6 * s),
                                   fill=tuple(int(v) for v in rng.uniform(40, 200, 3)))
        y += int(px * rng.uniform(1.6, 3.0))
        if y > bar + 0.3 * h and y < bar + 0.3 * h + photo.height:
            y = int(bar + 0.3 * h + photo.height + 10 * s)
    for i in range(int(rng.integers(3, 8))):  # sidebar items
        draw.text((int(10 * s), bar + int((20 + 30 * i) * s)), words[i], fill=(40, 40, 40),
                  font=_font(int(14 * s)))
    return np.asarray(image)


# The table ----------------------------------------------------------------------


Maker = Callable[[np.random.Generator, str, bool], "np.ndarray | tuple[np.ndarray, list[Region]]"]


@dataclass(frozen=True)
class Family:
    name: str
    positive: bool
    held_out: bool
    make: Maker
    about: str


def _positive(paste: Paste) -> Maker:
    return lambda rng, size, held_out: pasted(rng, size, held_out, paste)


def _photo_as_is(rng: np.random.Generator, size: str, held_out: bool) -> np.ndarray:
    return base_photo(rng, size, held_out)


FAMILIES: tuple[Family, ...] = (
    # Calibration positives: rectangles and axis-aligned ellipses, Gaussian and pixelated.
    Family("gauss_rect", True, False, _positive(Paste(("gaussian",), ("rect",))),
           "Gaussian blur (sigma 3-30) through rectangles"),
    Family("gauss_ellipse", True, False, _positive(Paste(("gaussian",), ("ellipse",), 0.5)),
           "Gaussian blur through ellipses, half of them feathered"),
    Family("pixel_rect", True, False, _positive(Paste(("pixelate",), ("rect",))),
           "pixelation (cells 4-48 px, averaged or centre-sampled) through rectangles"),
    Family("pixel_ellipse", True, False, _positive(Paste(("pixelate",), ("ellipse",))),
           "pixelation through ellipses"),
    # Held-out positives: other filters, shapes and masks, on other photos.
    Family("box_rot_ellipse", True, True,
           _positive(Paste(("box",), ("rot_ellipse",), 0.5)),
           "box blur (7-41 px) through rotated ellipses, half feathered"),
    Family("median_irregular", True, True, _positive(Paste(("median",), ("irregular",))),
           "median blur (5-21 px) through irregular blobs"),
    Family("pixel_feather_rounded", True, True,
           _positive(Paste(("pixelate",), ("rounded", "rot_ellipse"), 1.0)),
           "pixelation through feathered rounded rectangles and rotated ellipses"),
    Family("gauss_feather_irregular", True, True,
           _positive(Paste(("gaussian",), ("irregular", "rounded"), 1.0)),
           "Gaussian blur through feathered irregular blobs and rounded rectangles"),
    # Calibration negatives.
    Family("clean", False, False, _photo_as_is, "the photo as it is"),
    Family("heavy_jpeg", False, False, _photo_as_is, "JPEG quality 8-30"),
    Family("shallow_dof", False, False, _shallow_dof, "depth-of-field fall-off"),
    Family("textures", False, False, _textures, "tiles, brick, woven fabric"),
    # Held-out negatives.
    Family("clean_held_out", False, True, _photo_as_is, "the held-out photos as they are"),
    Family("soft_focus", False, True, _soft_focus, "the whole photo softly out of focus"),
    Family("motion_blur", False, True, _motion_blur, "camera shake: a line kernel"),
    Family("upscaled_lowres", False, True, _upscaled, "a 2.5-6x smaller photo upscaled"),
    Family("sky_gradient", False, True, _sky, "smooth sky over a straight horizon"),
    Family("regular_textures", False, True, _textures, "graph paper, a photo on a screen"),
    Family("screenshot_text", False, True, _screenshot, "a user interface with text"),
)
BY_NAME = {f.name: f for f in FAMILIES}
