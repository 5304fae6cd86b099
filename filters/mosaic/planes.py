"""Planes both hand-built detectors read: luma differences, Laplacian energy, block
sharpness, and a fast grey closing."""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage


def _horizontal_differences(luma: np.ndarray) -> np.ndarray:
    """|luma[y, x+1] - luma[y, x]| in uint8, one row short, so that every tile has the row
    below it for its vertical differences."""
    h = luma.shape[0] - 1
    # One SIMD pass (numpy needs max - min: three passes over the largest array here).
    return cv2.absdiff(luma[:h, 1:], luma[:h, :-1])


def _laplacian_energy(pixels: np.ndarray) -> np.ndarray:
    """Squared 4-neighbour Laplacian per pixel (offset by one pixel: entry (i, j) is
    pixel (i+1, j+1))."""
    y = pixels.astype(np.float32)
    # In place: one temporary instead of five (this runs on every image).
    lap = y[1:-1, 1:-1] * np.float32(4)
    for neighbour in (y[:-2, 1:-1], y[2:, 1:-1], y[1:-1, :-2], y[1:-1, 2:]):
        lap -= neighbour
    np.square(lap, out=lap)
    return lap


def _sharpness_map(small: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray]:
    """Log Laplacian energy per ``block`` x ``block`` block of reduced luma, and the
    squared Laplacian per pixel (``_laplacian_energy``)."""
    lap = _laplacian_energy(small)
    h, w = lap.shape
    bh, bw = h // block, w // block
    energy = lap[: bh * block, : bw * block]
    energy = energy.reshape(bh, block, bw * block).sum(1).reshape(bh, bw, block).sum(2)
    return np.log(energy / (block * block) + 1e-2), lap


def _closing(a: np.ndarray, size: int) -> np.ndarray:
    """Grey closing of ``a`` with a ``size`` x ``size`` square, +inf outside: what
    ``ndimage.grey_closing(a, size, mode="constant", cval=np.inf)`` gives, as running
    maxima and minima of shifted slices (scipy's filters cost about twice as much on a
    map this small, and this runs once per image and opening)."""
    if size % 2 == 0:  # scipy's origin for even sizes: not worth copying
        return ndimage.grey_closing(a, size=(size, size), mode="constant", cval=np.inf)
    r = size // 2
    out = a
    for reduce in (np.maximum, np.minimum):
        for axis in (0, 1):
            pad = [(0, 0), (0, 0)]
            pad[axis] = (r, r)
            padded = np.pad(out, pad, constant_values=np.inf)
            n = out.shape[axis]
            def shifted(i: int, padded: np.ndarray = padded, axis: int = axis, n: int = n
                        ) -> np.ndarray:
                return padded[i : i + n] if axis == 0 else padded[:, i : i + n]
            out = shifted(0).copy()
            for i in range(1, size):
                reduce(out, shifted(i), out=out)
    return out
