"""Pixelation detector: a regular grid of flat cells on full-resolution luma.

Overlapping tiles get a column profile (mean |horizontal difference| of every column)
and, past a cheap gate, a row profile; every (period, phase) grid is scored at once
against them, and a connected group of tiles agreeing on the period makes the score.
The method is in ``filters/README.md``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import ndimage

from filters.mosaic.calibration import JPEG_BLOCK, MosaicCalibration
from filters.mosaic.calibration import LOG_EPS as _LOG_EPS
from filters.mosaic.planes import _horizontal_differences


@lru_cache(maxsize=8)
def _candidates(tile: int, min_period: int, max_period: int) -> tuple[np.ndarray, ...]:
    """Grid indicator matrix (tile, K) and, per candidate, its period, phase, size."""
    periods, phases = [], []
    for p in range(min_period, max_period + 1):
        for f in range(p):
            periods.append(p)
            phases.append(f)
    period = np.array(periods)
    phase = np.array(phases)
    pos = np.arange(tile)[:, None]
    grid = ((pos - phase[None, :]) % period[None, :] == 0) & (pos >= phase[None, :])
    # Drop phase 0 of tile-edge lines that would leave a single line in the tile.
    count = grid.sum(0)
    keep = count >= 2
    grid, period, phase, count = grid[:, keep], period[keep], phase[keep], count[keep]
    # For the phase-margin test: index of the same period's other candidates.
    same = period[:, None] == period[None, :]
    # The off-grid matrix too: "elsewhere" is summed directly, not as total minus grid
    # lines (in float32 that difference cancels to noise when the lines dominate).
    return (grid.astype(np.float32), (~grid).astype(np.float32), period, phase,
            count.astype(np.float32), same)


@lru_cache(maxsize=8)
def _period_table(tile: int, min_period: int, max_period: int) -> np.ndarray:
    """Candidate indices (of ``_candidates``) by period and phase: (periods, phases),
    padded with the index one past the last candidate."""
    period = _candidates(tile, min_period, max_period)[2]
    periods = np.arange(min_period, max_period + 1)
    table = np.full((len(periods), max_period), len(period))
    for j, p in enumerate(periods):
        idx = np.flatnonzero(period == p)
        table[j, : len(idx)] = idx
    return table


def _window_sum(a: np.ndarray, k: int, axis: int) -> np.ndarray:
    """Sums of ``k`` consecutive entries along ``axis`` (valid positions only)."""
    n = a.shape[axis] - k + 1
    return sum(np.take(a, np.arange(i, i + n), axis=axis) for i in range(k))


def _column_profiles(dx: np.ndarray, tile: int, stride: int) -> np.ndarray:
    """Per tile, the mean of ``dx`` down each of its columns: (tile rows, tile cols, tile)."""
    k = tile // stride
    nr, nc = dx.shape[0] // stride, dx.shape[1] // stride
    bands = dx[: nr * stride, : nc * stride].reshape(nr, stride, nc * stride)
    # int16 accumulation is exact (stride <= 128 rows of |diff| <= 255) and 8x faster.
    band_sums = bands.sum(1, dtype=np.int16).astype(np.float32)
    sums = _window_sum(band_sums, k, 0)  # (nr-k+1, W): k bands of rows
    cells = sums.reshape(len(sums), nc, stride)
    return np.concatenate([cells[:, i : nc - k + 1 + i] for i in range(k)], axis=2) / tile


def _row_profiles_at(luma: np.ndarray, rows: np.ndarray, cols: np.ndarray, tile: int,
                     stride: int) -> np.ndarray:
    """For the tiles at (``rows``, ``cols``) of the stride grid only, the mean absolute
    vertical difference along each of their rows: (n, tile). Only the few tiles that
    pass the column gate need it, which saves a full-resolution difference plane."""
    windows = np.lib.stride_tricks.sliding_window_view(luma, (tile + 1, tile))
    cells = windows[::stride, ::stride][rows, cols].astype(np.int16)
    diff = np.abs(cells[:, 1:] - cells[:, :-1])
    return diff.sum(2, dtype=np.int32).astype(np.float32) / tile


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` without BLAS: these products are small, and a multi-threaded BLAS on a
    busy machine spends more time spinning its threads than multiplying (8x measured)."""
    return np.einsum("ij,jk->ik", a, b, optimize=False)


def _best_grid(flat: np.ndarray, cfg: MosaicCalibration) -> dict[str, np.ndarray]:
    """Best (period, phase) per tile profile (rows of ``flat``) and the evidence for it."""
    grid, off_grid, period, phase, count, same = _candidates(
        cfg.tile, cfg.min_period, cfg.max_period)
    shifted = flat + np.float32(_LOG_EPS)
    # Grid lines: a power mean of negative exponent (a soft minimum), so every line must
    # be there - a sub-harmonic that puts some "lines" inside cells fails. Elsewhere: a
    # power mean of positive exponent (a soft maximum), so one stray spike off the grid
    # - the other edge of a grout joint, the skipped lines of a harmonic 2P - fails too.
    on = np.log(_dot(shifted**-cfg.on_power, grid) / count) / -cfg.on_power
    # Scaled by the tile's maximum first, so a high exponent cannot overflow float32.
    scale = shifted.max(1, keepdims=True)
    power = (shifted / scale) ** cfg.off_power
    off_sum = _dot(power, off_grid)
    off = np.log(np.maximum(off_sum, 1e-30) / (cfg.tile - count)) / cfg.off_power + np.log(scale)
    if cfg.small_off_power != cfg.off_power:
        small = period <= cfg.small_period
        power = (shifted / scale) ** cfg.small_off_power
        off_small = np.log(np.maximum(_dot(power, off_grid[:, small]), 1e-30)
                           / (cfg.tile - count[small])) / cfg.small_off_power + np.log(scale)
        off[:, small] = off_small
    contrast = on - off
    best = contrast.argmax(1)
    rows = np.arange(len(flat))
    # Second-best phase of the same period: a double line (grout, screen gap) scores
    # almost as high as the main one, a mosaic's block edge does not.
    other = np.where(same[best] & (np.arange(len(period))[None, :] != best[:, None]), on, -np.inf)
    lin_on = (flat * grid.T[best]).sum(1) / count[best]
    lin_off = (flat * off_grid.T[best]).sum(1) / (cfg.tile - count[best])
    # Per period, the best phase judged by the plain mean of its lines (not the soft
    # minimum): used only where the other direction has already fixed the period, so a
    # sub-harmonic cannot win, and a line between two cells of nearly the same colour
    # (common in a smooth area) no longer sinks the whole grid.
    table = _period_table(cfg.tile, cfg.min_period, cfg.max_period)
    pad = np.full((len(flat), 1), -np.inf, np.float32)
    mean_on = np.log(_dot(shifted, grid) / count)
    by_on = np.concatenate([mean_on, pad], 1)[:, table]  # (tiles, periods, phases)
    by_con = np.concatenate([mean_on - off, pad], 1)[:, table]
    pick = by_con.argmax(2)[..., None]
    k = table[np.arange(len(table)), pick[..., 0]]  # (tiles, periods): candidate index
    best_on = np.take_along_axis(by_on, pick, 2)[..., 0]
    by_on[np.arange(len(flat))[:, None], np.arange(len(table))[None, :], pick[..., 0]] = -np.inf
    interior = _dot(flat, off_grid) / (cfg.tile - count)
    return {
        "contrast": contrast[rows, best],
        "period": period[best],
        "phase": phase[best],
        "margin": on[rows, best] - other.max(1),
        "step": lin_on,
        "interior": lin_off,
        "p_contrast": np.take_along_axis(by_con, pick, 2)[..., 0],
        "p_margin": best_on - by_on.max(2),
        "p_step": np.exp(best_on) - np.float32(_LOG_EPS),
        "p_interior": np.take_along_axis(interior, k, 1),
    }


def _gate(profiles: np.ndarray, cfg: MosaicCalibration) -> np.ndarray:
    """Tiles worth the full grid search: flat mostly, with some much stronger columns.

    A necessary condition of the tests in ``pixelation_score`` (median column at most
    the interior limit, strongest column above the step and the contrast), computed in a
    few passes; it leaves a few percent of a photo's tiles, which is what makes
    detection cost less than decoding.
    """
    half = cfg.tile // 2
    med = np.partition(profiles, half, axis=-1)[..., half]
    top = profiles.max(-1)
    ratio = max(np.exp(cfg.min_grid_contrast), cfg.gate_ratio)
    flat_enough = med <= np.maximum(cfg.max_interior, cfg.max_interior_rel * top)
    return flat_enough & (top >= cfg.min_grid_step) & (
        top + _LOG_EPS >= ratio * (med + _LOG_EPS))


def _column_profiles_at(dx: np.ndarray, rows: np.ndarray, cols: np.ndarray, tile: int,
                        step: int) -> np.ndarray:
    """Column profiles (mean of ``dx`` down each column) of the tiles at (``rows``,
    ``cols``) of a grid ``step`` px apart: (n, tile)."""
    windows = np.lib.stride_tricks.sliding_window_view(dx, (tile, tile))
    cells = windows[::step, ::step][rows, cols]
    return cells.sum(1, dtype=np.int32).astype(np.float32) / tile


def _fill(keep: np.ndarray, prof: np.ndarray, cfg: MosaicCalibration) -> dict[str, np.ndarray]:
    """``_best_grid`` of ``prof`` (the profiles of the ``keep`` tiles, in order) on the
    whole tile grid; the tiles not kept get failing values."""
    shape = keep.shape
    full = {"contrast": np.full(shape, -np.inf, np.float32), "period": np.zeros(shape, int),
            "phase": np.zeros(shape, int), "margin": np.zeros(shape, np.float32),
            "step": np.zeros(shape, np.float32), "interior": np.full(shape, np.inf, np.float32),
            "keep": keep}
    if keep.any():
        for key, values in _best_grid(prof, cfg).items():
            if key.startswith("p_"):
                full[key] = values  # per period: the kept tiles only, in order
            else:
                full[key][keep] = values
    return full


def _grids(px: np.ndarray, dx: np.ndarray, luma: np.ndarray, cfg: MosaicCalibration
           ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], int]:
    """``_best_grid`` of both directions on the gated tiles; others get failing values.

    ``px`` holds every tile's column profile on the ``stride`` grid; row profiles are
    computed only for the tiles whose column profile passes the gate. Around the tiles
    whose best grid reaches ``refine_contrast`` either way, the search is repeated on the
    tiles of a grid ``fine_stride`` px apart (a small pixelated box holds more whole
    tiles there), and those results replace the coarse ones, so the fine tiles include
    every coarse tile past the gate. Returns both directions'
    results and the step (px) of the tile grid they are on."""
    keep = _gate(px, cfg)
    rows, cols = np.nonzero(keep)
    py = _row_profiles_at(luma, rows, cols, cfg.tile, cfg.stride)
    passed = _gate(py, cfg)
    keep[rows[~passed], cols[~passed]] = False
    gx, gy = _fill(keep, px[keep], cfg), _fill(keep, py[passed], cfg)
    fine = cfg.fine_stride
    promising = np.maximum(gx["contrast"], gy["contrast"]) >= cfg.refine_contrast
    if not fine or fine >= cfg.stride or not promising.any():
        return gx, gy, cfg.stride
    # Every coarse tile sits on the fine grid; its fine neighbours overlap it.
    f = cfg.stride // fine
    shape = ((dx.shape[0] - cfg.tile) // fine + 1, (dx.shape[1] - cfg.tile) // fine + 1)
    near = np.zeros(shape, bool)
    r, c = np.nonzero(promising)
    near[r * f, c * f] = True
    near = ndimage.binary_dilation(near, np.ones((2 * f - 1, 2 * f - 1), bool))
    r, c = np.nonzero(keep)
    near[r * f, c * f] = True
    rows, cols = np.nonzero(near)
    pxf = _column_profiles_at(dx, rows, cols, cfg.tile, fine)
    passed = _gate(pxf, cfg)
    rows, cols, pxf = rows[passed], cols[passed], pxf[passed]
    pyf = _row_profiles_at(luma, rows, cols, cfg.tile, fine)
    passed = _gate(pyf, cfg)
    keep = np.zeros(shape, bool)
    keep[rows[passed], cols[passed]] = True
    return _fill(keep, pxf[passed], cfg), _fill(keep, pyf[passed], cfg), fine


def _jpeg_aligned(period: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """Grids whose lines all sit on JPEG's 8x8 structure: multiples of 8 at phase 7, and
    period 4 at phase 3 (very low quality leaves a step mid-block too)."""
    on_blocks = (period % JPEG_BLOCK == 0) & (phase % JPEG_BLOCK == JPEG_BLOCK - 1)
    half = JPEG_BLOCK // 2
    on_halves = (period == half) & (phase % half == half - 1)
    return on_blocks | on_halves


def pixelation_score(luma: np.ndarray, cfg: MosaicCalibration) -> tuple[float, int | None,
                                                                         tuple | None]:
    """Score (1.0 = decision boundary), grid period and box of the best tile group."""
    if min(luma.shape) < cfg.tile + 1:
        return 0.0, None, None
    dx = _horizontal_differences(luma)
    gx, gy, s = _grids(_column_profiles(dx, cfg.tile, cfg.stride), dx, luma, cfg)
    ok = np.ones(gx["contrast"].shape, dtype=bool)
    passes = []
    for g in (gx, gy):
        good = g["contrast"] >= cfg.min_grid_contrast
        good &= g["step"] >= cfg.min_grid_step
        good &= g["margin"] >= cfg.min_phase_margin
        good &= g["interior"] <= np.maximum(cfg.max_interior, cfg.max_interior_rel * g["step"])
        passes.append(good)
        ok &= good
    # Square cells: both directions find the period (one may lock on twice the period
    # where every other line in that direction happens to be faint).
    px, py = gx["period"], gy["period"]
    ok &= (np.abs(px - py) <= 1) | (cfg.allow_harmonic & ((px == 2 * py) | (py == 2 * px)))
    evidence = np.where(ok, np.minimum(gx["contrast"], gy["contrast"]), 0.0)
    tile_period = gx["period"].copy()
    weak_ok = np.zeros_like(ok)
    keep = gx["keep"]
    if cfg.weak_contrast > 0 and keep.any():
        # One direction passes on its own; the other, at that direction's period, has
        # flat cells and lines strong on average.
        for strong, weak, passed in ((gx, gy, passes[0]), (gy, gx, passes[1])):
            at = np.clip(strong["period"][keep] - cfg.min_period, 0, None)[:, None]
            wc, ws, wi, wm = (np.take_along_axis(weak[key], at, 1)[:, 0]
                              for key in ("p_contrast", "p_step", "p_interior", "p_margin"))
            con = strong["contrast"][keep]
            alt = passed[keep] & ~ok[keep]
            alt &= (wc >= cfg.weak_contrast) & (ws >= cfg.min_grid_step) & (wm >= cfg.weak_margin)
            alt &= wi <= np.maximum(cfg.max_interior, cfg.max_interior_rel * ws)
            alt &= ~_jpeg_aligned(strong["period"][keep], strong["phase"][keep])
            if not alt.any():
                continue
            ev = np.where(alt, np.minimum(con, wc), 0.0)
            evidence[keep] = np.maximum(evidence[keep], ev)
            tile_period[keep] = np.where(alt, strong["period"][keep], tile_period[keep])
            weak_ok[keep] |= alt
    # JPEG's own blocking: a grid on the 8x8 block structure in both directions counts
    # only with flat cells and large steps (heavy JPEG makes flat cells, small steps).
    jpeg = _jpeg_aligned(gx["period"], gx["phase"]) & _jpeg_aligned(gy["period"], gy["phase"])
    flat = np.maximum(gx["interior"], gy["interior"]) <= cfg.jpeg_phase_max_interior
    strong = np.minimum(gx["step"], gy["step"]) >= cfg.jpeg_phase_min_step
    ok &= ~jpeg | (flat & strong)
    ok |= weak_ok
    if not ok.any():
        return 0.0, None, None
    evidence = np.where(ok, evidence / cfg.min_grid_contrast, 0.0)
    labels, n = ndimage.label(ok, structure=np.ones((3, 3)))
    best_score, best_period, best_box = 0.0, None, None
    for idx, sl in enumerate(ndimage.find_objects(labels), start=1):
        member = labels[sl] == idx
        periods = tile_period[sl][member]
        mode = int(np.bincount(periods).argmax())
        agree = member & (np.abs(tile_period[sl] - mode) <= 1)
        score = float(evidence[sl][agree].sum()) / cfg.min_tile_evidence
        if mode >= cfg.long_period:
            score /= cfg.long_period_evidence
        if score > best_score:
            best_score, best_period = score, mode
            best_box = (sl[0].start * s, sl[1].start * s,
                        sl[0].stop * s + cfg.tile - s, sl[1].stop * s + cfg.tile - s)
    return best_score, best_period, best_box
