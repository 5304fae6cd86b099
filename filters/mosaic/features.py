"""Block features for the learned detector: a few cheap planes of luma summed over
16-px blocks (an SA-1B image gives a 93x140 map), computed at full size, or at half
size from a 1000-px short side (there a block is 8 px of the reduced plane).

Per block: the mean horizontal and vertical |difference| (sharpness); the mean
|Laplacian| at half and quarter of the working size (sharpness at coarser scales: a
Gaussian of sigma 3 leaves the quarter-size plane almost untouched, one of 20 flattens
it too); how much of the block's column (row) difference mass sits in its strongest
column (row) (a pixelation grid line, or a straight edge); the share of it on JPEG's
8x8 block edges (JPEG's own blocking); the share of pixels with no horizontal step (flat
cells); and the four sharpness planes again relative to the image's 90th percentile, so
a soft photo is not a blurred one. Area resizes of uint16 planes: no float plane at the
working size.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

BLOCK = 16
HALF_FROM = 1000  # short side (px) from which the features are computed at half size
SCALE_BITS = 6  # luma in 1/64 levels: 255 * 64 fits uint16
CHANNELS = ("dx", "dy", "lap_half", "lap_quarter", "col_peak", "row_peak", "col_jpeg",
            "row_jpeg", "flat", "rel_dx", "rel_dy", "rel_lap_half", "rel_lap_quarter")


def working_plane(image: Image.Image) -> tuple[np.ndarray, int]:
    """The luma plane the features are computed on (from an image of any mode), and its
    reduction: SA-1B-sized images (short side from ``HALF_FROM`` px) at half size, where
    a 16-px block is 8 px (a quarter of the cost; pixelation cells of 4 px become 2-px
    cells, still flat). Reduced before the conversion to luma: half the time of
    converting 3.4 Mpx."""
    if min(image.size) >= HALF_FROM:
        return np.asarray(image.reduce(2).convert("L")), 2
    return np.asarray(image.convert("L")), 1


def block_features(luma: np.ndarray, block: int = BLOCK) -> np.ndarray:
    """(len(CHANNELS), H // block, W // block) float32 features of a uint8 luma plane
    (one row and column of pixels short when the size is a multiple of ``block``)."""
    h, w = luma.shape
    bh, bw = (h - 1) // block, (w - 1) // block
    if bh < 1 or bw < 1:
        return np.zeros((len(CHANNELS), max(bh, 0), max(bw, 0)), np.float32)
    H, W = bh * block, bw * block
    # Luma in 1/64 grey levels (uint16): the area resizes below keep fractions of a level,
    # which a blurred block's differences are.
    fine = luma[: H + 1, : W + 1].astype(np.uint16)
    fine <<= SCALE_BITS
    dx = cv2.absdiff(fine[:H, 1 : W + 1], fine[:H, :W])
    dy = cv2.absdiff(fine[1 : H + 1, :W], fine[:H, :W])
    # Per block, the mean of dx down each of its columns and of dy along each of its
    # rows: area resizes by 16 one way (SIMD).
    area = cv2.INTER_AREA
    cols = cv2.resize(dx, (W, bh), interpolation=area).reshape(bh, bw, block).astype(np.float32)
    rows = cv2.resize(dy, (bw, H), interpolation=area).reshape(bh, block, bw)
    rows = rows.transpose(0, 2, 1).astype(np.float32)
    cols /= 1 << SCALE_BITS
    rows /= 1 << SCALE_BITS
    sx, sy = cols.mean(2), rows.mean(2)
    flat = cv2.resize(cv2.compare(dx, 0, cv2.CMP_EQ), (bw, bh), interpolation=area)
    flat = flat.astype(np.float32) / 255
    half = cv2.resize(fine[:H, :W], (W // 2, H // 2), interpolation=area)
    quarter = cv2.resize(half, (W // 4, H // 4), interpolation=area)
    lap_h, lap_q = (
        cv2.resize(np.abs(cv2.Laplacian(plane, cv2.CV_32F, ksize=1)), (bw, bh),
                   interpolation=area) / (1 << SCALE_BITS)
        for plane in (half, quarter))
    mean_dx, mean_dy = np.log1p(sx), np.log1p(sy)
    lh, lq = np.log1p(lap_h), np.log1p(lap_q)
    jpeg = [7, 15] if block == BLOCK else [3, 7]  # JPEG's edges (at half size: 4 px)
    out = np.stack([
        mean_dx, mean_dy, lh, lq,
        np.log1p(cols.max(2)) - np.log1p(sx),
        np.log1p(rows.max(2)) - np.log1p(sy),
        cols[..., jpeg].sum(2) / (block * sx + 1.0),
        rows[..., jpeg].sum(2) / (block * sy + 1.0),
        flat,
        *(p - np.quantile(p, 0.9) for p in (mean_dx, mean_dy, lh, lq)),
    ])
    return out.astype(np.float32)
