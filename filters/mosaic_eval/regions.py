"""Region shapes and the operations pasted through them, for the widened evaluation.

A region is drawn as a mask on its own bounding box (never on the whole image, which at
SA-1B size is 3.4 Mpx): ``rect``, ``ellipse``, ``rot_ellipse`` (rotated 10-80 degrees),
``rounded`` (rounded rectangle) and ``irregular`` (a blob: an ellipse whose radius
varies with a few low harmonics). A mask is hard, or feathered (a soft edge of 2-12 px).

Operations act on the box and a margin around it, so a blur sees the surround as a
real redaction tool does: ``gaussian`` (sigma 3-30), ``box`` (a box filter of 7-41
px), ``median`` (5-21 px) and ``pixelate`` (averaged or centre-sampled cells of 4-48
px, on a grid from the box's corner).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

Box = tuple[int, int, int, int]  # (y0, x0, y1, x1), full-resolution px

SHAPES = ("rect", "ellipse", "rot_ellipse", "rounded", "irregular")
OPERATIONS = ("gaussian", "box", "median", "pixelate")


@dataclass(frozen=True)
class Region:
    box: Box
    alpha: np.ndarray  # float32 (h, w) in [0, 1] on the box: how much of the paste shows


def region_sizes(rng: np.random.Generator, h: int, w: int, count: int,
                 min_fraction: float = 0.002, max_total: float = 0.10,
                 min_side: int = 48) -> list[float]:
    """Areas (fractions of the image) of ``count`` regions: log-uniform from
    ``min_fraction`` up, together at most ``max_total`` of the image."""
    lo = max(min_fraction, min_side**2 / (h * w))
    hi = max(lo * 1.01, max_total / count)
    return [float(np.exp(rng.uniform(np.log(lo), np.log(hi)))) for _ in range(count)]


def _shape_mask(rng: np.random.Generator, shape: str, bh: int, bw: int) -> np.ndarray:
    yy, xx = np.mgrid[0:bh, 0:bw].astype(np.float32)
    cy, cx = (bh - 1) / 2, (bw - 1) / 2
    ry, rx = bh / 2, bw / 2
    if shape == "rect":
        return np.ones((bh, bw), bool)
    if shape == "ellipse":
        return ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
    if shape == "rot_ellipse":
        # An ellipse of axes a >= b rotated by theta, fitted into the box.
        theta = np.deg2rad(rng.uniform(10, 80)) * rng.choice([-1, 1])
        c, s = np.cos(theta), np.sin(theta)
        ratio = rng.uniform(0.5, 0.9)
        # Half-extents of the rotated ellipse for a = 1, b = ratio; scale into the box.
        ey = np.hypot(s, ratio * c)
        ex = np.hypot(c, ratio * s)
        a = min(ry / ey, rx / ex)
        u = ((xx - cx) * c + (yy - cy) * s) / a
        v = (-(xx - cx) * s + (yy - cy) * c) / (a * ratio)
        return u**2 + v**2 <= 1
    if shape == "rounded":
        r = rng.uniform(0.15, 0.45) * min(bh, bw)
        dy = np.maximum(np.abs(yy - cy) - (ry - r), 0)
        dx = np.maximum(np.abs(xx - cx) - (rx - r), 0)
        return dy**2 + dx**2 <= r**2
    if shape == "irregular":
        angle = np.arctan2((yy - cy) / ry, (xx - cx) / rx)
        radius = np.hypot((yy - cy) / ry, (xx - cx) / rx)
        bound = np.ones_like(angle)
        for k in range(2, 6):
            bound += rng.uniform(0, 0.25 / k * 2) * np.cos(k * angle + rng.uniform(0, 2 * np.pi))
        return radius <= bound / bound.max()
    raise ValueError(f"unknown shape {shape!r}; known: {', '.join(SHAPES)}")


def draw_region(rng: np.random.Generator, h: int, w: int, fraction: float, shape: str,
                feather: float = 0.0, margin: int = 24) -> Region:
    """A region of ``shape`` covering about ``fraction`` of an ``h`` x ``w`` image, away
    from the border by ``margin`` px (detectors leave border-touching areas alone, as
    soft backgrounds)."""
    aspect = rng.uniform(0.6, 1.6)
    fill = {"rect": 1.0, "rounded": 0.9, "irregular": 0.7}.get(shape, np.pi / 4)
    area = fraction * h * w / fill
    bh = int(np.clip((area * aspect) ** 0.5, 16, h - 2 * margin - 2))
    bw = int(np.clip((area / aspect) ** 0.5, 16, w - 2 * margin - 2))
    y0 = int(rng.integers(margin, h - bh - margin))
    x0 = int(rng.integers(margin, w - bw - margin))
    alpha = _shape_mask(rng, shape, bh, bw).astype(np.float32)
    if feather > 0:
        alpha = cv2.GaussianBlur(alpha, (0, 0), feather / 2) * alpha  # soft, inside only
        alpha = np.clip(alpha * 1.5, 0, 1)
    return Region((y0, x0, y0 + bh, x0 + bw), alpha)


def _pixelate(patch: np.ndarray, block: int, centre: bool) -> np.ndarray:
    h, w = patch.shape[:2]
    ny, nx = -(-h // block), -(-w // block)
    pad = np.pad(patch.astype(np.float32), ((0, ny * block - h), (0, nx * block - w), (0, 0)),
                 mode="edge")
    cells = pad.reshape(ny, block, nx, block, 3)
    values = cells[:, block // 2, :, block // 2] if centre else cells.mean(axis=(1, 3))
    return np.repeat(np.repeat(values, block, axis=0), block, axis=1)[:h, :w]


def operate(img: np.ndarray, region: Region, operation: str, strength: float,
            centre: bool = False) -> np.ndarray:
    """``img`` with ``operation`` of ``strength`` (sigma, kernel or block px) pasted
    through ``region``'s mask (a new array; ``img`` is left as it is)."""
    y0, x0, y1, x1 = region.box
    h, w = img.shape[:2]
    if operation == "pixelate":
        new = _pixelate(img[y0:y1, x0:x1], int(strength), centre)
    else:
        pad = int(3 * strength) + 2
        a0, b0, a1, b1 = max(y0 - pad, 0), max(x0 - pad, 0), min(y1 + pad, h), min(x1 + pad, w)
        around = img[a0:a1, b0:b1]
        if operation == "gaussian":
            soft = cv2.GaussianBlur(around.astype(np.float32), (0, 0), strength)
        elif operation == "box":
            k = int(strength) | 1
            soft = cv2.blur(around.astype(np.float32), (k, k))
        elif operation == "median":
            soft = cv2.medianBlur(np.ascontiguousarray(around), int(strength) | 1)
        else:
            raise ValueError(f"unknown operation {operation!r}; known: {', '.join(OPERATIONS)}")
        new = np.asarray(soft, np.float32)[y0 - a0 : y1 - a0, x0 - b0 : x1 - b0]
    out = img.copy()
    old = img[y0:y1, x0:x1].astype(np.float32)
    alpha = region.alpha[..., None]
    out[y0:y1, x0:x1] = np.clip(alpha * new + (1 - alpha) * old + 0.5, 0, 255).astype(np.uint8)
    return out


def luma_change(before: np.ndarray, after: np.ndarray, region: Region) -> float:
    """Mean absolute change of luma (BT.601) inside the region's mask, grey levels."""
    y0, x0, y1, x1 = region.box
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    diff = (after[y0:y1, x0:x1].astype(np.float32) - before[y0:y1, x0:x1]) @ weights
    inside = region.alpha > 0.5
    return float(np.abs(diff[inside]).mean()) if inside.any() else 0.0
