"""Blur-island detector: a compact unsharp island with three straight sides stepping
into texture, on luma reduced 2x or 4x. The method is in ``filters/README.md``."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from filters.mosaic.calibration import JPEG_BLOCK, MosaicCalibration
from filters.mosaic.planes import _closing, _laplacian_energy, _sharpness_map


def _box_sides(energy: np.ndarray, box: tuple[int, int, int, int], search: int,
               cfg: MosaicCalibration) -> tuple[np.ndarray, np.ndarray]:
    """Per side of ``box`` (reduced px: y0, x0, y1, x1 on the ``energy`` plane), at the
    position within ``search`` px that makes it sharpest: the smallest log contrast of
    the strip just outside over the strip just inside, among the side's segments (a
    straight step along the whole side), and the log contrast of the strip just outside
    over the strip beyond it (a thin line, as grout or a ruled line is, not texture)."""
    w, far, nseg = cfg.edge_strip, 3 * cfg.edge_strip, cfg.edge_segments
    y0, x0, y1, x1 = box
    step, line = np.full(4, -np.inf), np.full(4, np.inf)
    for k, (plane, at, lo, hi, inward) in enumerate((
            (energy, x0, y0, y1, 1), (energy, x1, y0, y1, -1),
            (energy.T, y0, x0, x1, 1), (energy.T, y1, x0, x1, -1))):
        m = (hi - lo) // 8  # leave the corners out
        lo, hi = lo + m, hi - m
        n_rows = (hi - lo) // nseg
        if n_rows < 1:
            continue
        # Columns from far outside to inside, the side's rows in nseg segments.
        if inward > 0:
            a, b = max(at - search - w - far, 0), min(at + search + w, plane.shape[1])
            cols = plane[lo : lo + n_rows * nseg, a:b]
        else:
            a, b = max(at - search - w, 0), min(at + search + w + far, plane.shape[1])
            cols = plane[lo : lo + n_rows * nseg, a:b][:, ::-1]  # outside first
        n = cols.shape[1]
        if n < 2 * w + far:
            continue
        profile = cols.reshape(nseg, n_rows, n).mean(1)  # (nseg, columns)
        csum = np.zeros((nseg, n + 1))
        np.cumsum(profile, 1, out=csum[:, 1:])
        # Edge at column e (outside: [e-w, e), inside: [e, e+w), beyond: [e-w-far, e-w)).
        e = np.arange(w + far, n - w + 1)
        outside = (csum[:, e] - csum[:, e - w]) / w
        inside = (csum[:, e + w] - csum[:, e]) / w
        contrast = (np.log(outside + 1) - np.log(inside + 1)).min(0)
        best = int(contrast.argmax())
        eb = e[best]
        near = (csum[:, eb] - csum[:, eb - w]).sum() / (w * nseg)
        beyond = (csum[:, eb - w] - csum[:, eb - w - far]).sum() / (far * nseg)
        step[k], line[k] = contrast[best], np.log(near + 1) - np.log(beyond + 1)
    return step, line


def _is_box(energy: np.ndarray, box: tuple[int, int, int, int], search: int,
            cfg: MosaicCalibration) -> bool:
    """A pasted box: at least three straight, sharp sides, sharp with texture, not lines."""
    step, line = _box_sides(energy, box, search, cfg)
    return bool(np.sort(step)[1] >= cfg.min_edge_step and np.median(line) <= cfg.max_edge_line)


def _islands(rel: np.ndarray, unsharp: np.ndarray, cfg: MosaicCalibration
             ) -> tuple[list[tuple[float, tuple]], bool]:
    """Islands of the ``unsharp`` blocks shaped like a pasted box: (score, block box);
    and whether a group of blocks large enough to be one failed the shape tests."""
    if np.count_nonzero(unsharp) < cfg.min_island_blocks:
        return [], False  # no island can be large enough: spare the labelling
    labels, n = ndimage.label(unsharp)
    if n == 0:
        return [], False
    bh, bw = rel.shape
    total = bh * bw
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    found: list[tuple[float, tuple]] = []
    objects = ndimage.find_objects(labels)
    large = np.flatnonzero(sizes[1:] >= cfg.min_island_blocks) + 1
    for idx in large:
        sl, area = objects[idx - 1], int(sizes[idx])
        if not cfg.min_island_fraction <= area / total <= cfg.max_island_fraction:
            continue
        if sl[0].start == 0 or sl[1].start == 0 or sl[0].stop == bh or sl[1].stop == bw:
            continue  # touches the border: a soft background, not a pasted box
        hh, ww = sl[0].stop - sl[0].start, sl[1].stop - sl[1].start
        if area / (hh * ww) < cfg.min_fill or max(hh, ww) / min(hh, ww) > cfg.max_island_aspect:
            continue
        # The ring is the frame of blocks around the bounding box (the island is nearly
        # its box, and a sharp eye left inside a blurred face is no part of the frame).
        y0, x0, y1, x1 = sl[0].start, sl[1].start, sl[0].stop, sl[1].stop
        ring_vals = np.concatenate([rel[y0 - 1, x0 - 1 : x1 + 1], rel[y1, x0 - 1 : x1 + 1],
                                    rel[y0:y1, x0 - 1], rel[y0:y1, x1]])
        if (ring_vals > cfg.ring_sharp_log).mean() < cfg.min_sharp_ring:
            continue  # soft fall-off into the surround: depth of field, not a box
        inside = rel[sl][labels[sl] == idx]
        score = float(np.median(ring_vals) - np.median(inside)) / cfg.blur_contrast
        found.append((score, (sl[0].start, sl[1].start, sl[0].stop, sl[1].stop)))
    return found, len(found) < len(large)


def blur_factor(shape: tuple[int, ...], cfg: MosaicCalibration) -> int:
    """Reduction of the luma plane that the blur map is computed on: 2 or 4."""
    return 4 if min(shape[:2]) >= cfg.blur_quarter_res_from else 2


def blur_score(small: np.ndarray, cfg: MosaicCalibration, factor: int = 2
               ) -> tuple[float, tuple | None]:
    """Score (1.0 = decision boundary) and full-res box of the best-scoring island
    whose sides are those of a pasted box (0.0 and None when there is none).

    Islands are cut at several depths of unsharpness: a blurred box that touches a
    naturally flat area merges with it at a shallow cut but stands alone at a deep one.
    """
    block = max(2, cfg.blur_block // factor)
    if min(small.shape) < 8 * block:
        return 0.0, None
    sharp, energy = _sharpness_map(small, block)
    rel = sharp - np.quantile(sharp, cfg.sharp_quantile)
    # The opening of every cut {rel < level} at once: {closing(rel) < level} (a block
    # stays if some square of island_opening blocks around it lies wholly below level).
    found = []
    # A wider opening keeps a subset of a narrower one's blocks; it is there to cut a
    # box free of a flat neighbour, so only a level where some group large enough for an
    # island failed the shape tests is cut again (half the cost of every level).
    levels = cfg.unsharp_levels
    for opening in (cfg.island_opening, *cfg.extra_openings):
        cut = rel
        if opening > 1:
            cut = _closing(rel, opening)
        alive = []
        for level in levels:
            islands, rejected = _islands(rel, cut < level, cfg)
            if len(islands) > cfg.max_islands:
                # Many look-alike flat cells ringed by edges: tiles, windows, a grid.
                return 0.0, None
            found += islands
            if rejected:
                alive.append(level)
        levels = tuple(alive)
    # Best first; the first whose sides are those of a pasted box (block coordinates to
    # the energy plane's: one pixel less).
    for score, box in sorted(found, reverse=True):
        if score < cfg.min_candidate:
            break
        if _is_box(energy, tuple(v * block - 1 for v in box), cfg.edge_search * block, cfg):
            s = factor * block
            return score, tuple(v * s for v in box)
    return 0.0, None


def _jpeg_flat_share(luma: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """Share of JPEG's 8x8 blocks inside ``box`` (full-res px) with no step inside them:
    heavy JPEG keeps only the mean of a smooth block, a blurred box keeps its ramps."""
    y0, x0, y1, x1 = (-(-box[0] // JPEG_BLOCK), -(-box[1] // JPEG_BLOCK),
                      box[2] // JPEG_BLOCK, box[3] // JPEG_BLOCK)
    y1, x1 = min(y1, luma.shape[0] // JPEG_BLOCK), min(x1, luma.shape[1] // JPEG_BLOCK)
    if y1 <= y0 or x1 <= x0:
        return 0.0
    b = JPEG_BLOCK
    cells = luma[y0 * b : y1 * b, x0 * b : x1 * b].reshape(y1 - y0, b, x1 - x0, b)
    spread = cells.max((1, 3)).astype(np.int16) - cells.min((1, 3))
    return float((spread <= 2).mean())


def _crossing_line(small: np.ndarray, box: tuple[int, int, int, int], factor: int) -> float:
    """How strongly a straight line crosses ``box`` (full-res px) on the reduced luma
    ``small``: the log contrast of its strongest 2-px column or row of Laplacian energy
    (each the mean along the whole box, its sides' eighths left out) over the median one.

    Two neighbouring tiles of one colour make a flat island with the grout straight
    across it; a Gaussian blur of sigma 4 or more leaves no thin line across a box.
    """
    y0, x0, y1, x1 = (v // factor for v in box)
    my, mx = max(2, (y1 - y0) // 8), max(2, (x1 - x0) // 8)
    inner = _laplacian_energy(small[y0 + my - 1 : y1 - my + 1, x0 + mx - 1 : x1 - mx + 1])
    if min(inner.shape) < 2:
        return 0.0
    contrast = 0.0
    for profile in (inner.mean(0, dtype=np.float64), inner.mean(1, dtype=np.float64)):
        line = (profile[:-1] + profile[1:]).max() / 2
        contrast = max(contrast, float(np.log(line + 1) - np.log(np.median(profile) + 1)))
    return contrast
