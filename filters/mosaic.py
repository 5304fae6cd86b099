"""Mosaic detection: pixelated (mosaic) regions and pasted blur islands.

SA-1B blurs faces and licence plates before release, and ParaImage dropped every SA-1B
image with such "mosaic elements" (§3.2.1). Two detectors, both vectorised numpy/scipy
on the luma plane, so detection costs no more than decoding the JPEG:

* **Pixelation.** A pixelated region is a regular grid of flat cells. On full-resolution
  luma, overlapping tiles (``tile`` px, ``stride`` px apart) get two profiles: the mean
  absolute horizontal difference of every column and the mean absolute vertical
  difference of every row. A grid of period P and phase f shows as spikes at
  f, f+P, f+2P... over near-zero interiors. A cheap gate keeps the few tiles whose
  profile is flat with some much stronger columns; on those, every (P, f) candidate is
  scored at once with two products against a 0/1 grid matrix: a soft minimum over the
  grid lines (every line must be there, so sub-harmonics fail) against a soft maximum
  elsewhere (one stray spike fails: the second edge of a grout joint or graph-paper
  line, the skipped lines of a harmonic 2P; softer for periods up to 15 px, where JPEG
  rings between the lines). A tile counts when both directions find the same period
  (or P and 2P) with contrast, strong lines, one dominant phase and flat cells; a grid
  at JPEG's own 8x8 phase also needs large steps. Row profiles are computed only for
  the tiles whose column profile passes the gate, and around the tiles whose best grid
  has some contrast either way the search is repeated on tiles 16 px apart (a face-sized
  box holds four to nine of them, against one or two at stride 32), keeping every
  coarse tile past the gate. The image fires
  when a connected group of such tiles agrees on the period (a period of 28 px or more,
  two lines a tile as grout and graph paper have, needs three times the evidence). A
  tile whose grid passes one way also counts when, at that period, the other way's
  lines are strong on average over flat cells: in a pixelated smooth area some lines
  lie between cells of nearly one colour, and the soft minimum alone fails them.
* **Blur islands.** Local sharpness is the Laplacian energy of 16-px blocks of luma
  reduced 2x (4x from a 1000-px short edge), in log units relative to the image's own
  sharp blocks. The unsharp blocks are cut at depths from -3 to -7 every 1 and opened
  with a square of 3 blocks and again of 5 (so a box touching a flat area at a corner or
  along a strip up to 4 blocks wide stands alone). A candidate is a compact island of
  at least 30 blocks, at most 15 % of the image, away from the border, much less sharp
  than the frame of blocks around it.
  It counts as a pasted box only if its sides are: on the reduced luma's per-pixel
  Laplacian energy, at least three sides must be straight steps (sharp outside, smooth
  inside, at the same position along the whole side: a natural flat area's boundary
  wanders, depth of field falls off softly) into texture rather than a thin line (the
  grout around a tile, the ruled lines around a square of graph paper); and if nearly
  all its 8x8 JPEG blocks are flat, no straight line may cross it (two neighbouring
  tiles of one colour have their grout across them; a blurred flat area has none).
  Boxes under about 90x90 px (0.25 % of an SA-1B image)
  are below this detector's resolution, and a box blurred over a flat area (sky, a
  wall) changes too little to be seen.

``mosaic_score`` is the larger of the two detector scores, each scaled so that 1.0 is
its calibrated decision boundary; ``mosaic_detected`` is ``score >= threshold``.
Thresholds were calibrated on ``python -m filters.mosaic_eval`` (grid searches over the
config fields below on seeds 1-7, re-calibrated on seeds 1-5 after the generator's box
sizes were fixed, and again on seeds 1-5 for the fine tiles, the sides test, the
one-way grids, the second opening and the either-way refinement; the flat-island line
test was set with all eleven seeds in view; seeds 0, 10 and 11 held out, and 20-22 never
tuned on, for the figures in ``filters/README.md``: precision 0.978-1.0, recall 0.89-0.95
by seed, 0.924 over all 1,100 positives): pixelation finds 84-100 % of the pixelated
boxes by seed and category, blur islands 68-92 % of the blurred ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar

import cv2
import numpy as np
from PIL import Image
from pydantic import Field, model_validator
from scipy import ndimage

from filters.base import BaseImageFilter, FilterConfig

REASON_DETECTED = "mosaic_detected"
KIND_PIXELATION = "pixelation"
KIND_BLUR = "blur"
# JPEG codes 8x8 blocks from the image origin: its block edges sit between pixel 8m-1
# and 8m, i.e. at difference index 7 mod 8 (tiles start at multiples of 8).
JPEG_BLOCK = 8
_LOG_EPS = 0.5  # grey levels added before the log: noise-floor of a "flat" column


class MosaicFilterConfig(FilterConfig):
    threshold: float = Field(default=1.0, gt=0.0)  # on mosaic_score (1.0: calibrated)
    pixelation: bool = True
    blur: bool = True
    # Pixelation tiles on full-resolution luma.
    # 64-px tiles (not 96): a face-sized box of ~110 px then always holds a whole tile,
    # which doubled recall on feathered boxes in calibration; periods up to tile / 2.
    tile: int = Field(default=64, ge=32)
    stride: int = Field(default=32, ge=8, le=128)  # <= 128: int16 band sums stay exact
    # Around the tiles whose best grid reaches refine_contrast in either direction, the
    # search is repeated on tiles fine_stride px apart (0: off). A face-sized box of
    # ~110 px holds one whole 64-px tile at stride 32 and four to nine at stride 16;
    # stride 16 everywhere cost twice the time, near such tiles it costs nothing on a
    # clean photo (none reach it). Seeds 1-5: pixelation recall 0.83 -> 0.89.
    fine_stride: int = Field(default=16, ge=0)
    # Either direction, not both: a box whose grid shows one way on the stride-32 tiles
    # was never refined (seeds 1-5, with the coarse tiles kept: +3 boxes, no false
    # positive more; 0.5 found two boxes less, and refining around every gated tile
    # none more for twice the time).
    refine_contrast: float = 0.3
    # A grid of period >= long_period has two lines in a 64-px tile, as tiles with grout
    # and graph paper do: such a group needs long_period_evidence times the evidence
    # (seeds 1-5: 10 false positives less, one pixelated box of 63 lost).
    long_period: int = Field(default=28, ge=2)
    long_period_evidence: float = Field(default=3.0, ge=1.0)
    min_period: int = Field(default=4, ge=2)
    max_period: int = Field(default=32, ge=4)
    # Log contrast (natural log) of grid lines over the soft maximum elsewhere.
    min_grid_contrast: float = Field(default=0.4, gt=0.0)
    # Mean absolute step across a grid line, grey levels: fainter grids are noise.
    min_grid_step: float = Field(default=1.5, ge=0.0)
    # Log margin of the best phase over the second-best phase of the same period.
    min_phase_margin: float = Field(default=0.6, ge=0.0)
    # Mean |difference| inside the cells: a mosaic's cells are flat, woven or
    # textured surfaces are not. 5, not 3: JPEG rings inside small (4-11 px) cells, and
    # once the grid contrast is computed exactly (no float32 cancellation) 3 lost 10 of
    # 225 pixelated boxes on seeds 1-3 for one tile false positive less.
    max_interior: float = Field(default=5.0, ge=0.0)
    # ... or this share of the step: JPEG rings around strong small cells, so a busy
    # region pixelated with 5-10 px blocks has interiors of 3-4 levels beside 20-40.
    max_interior_rel: float = Field(default=0.0, ge=0.0, le=1.0)
    # A grid at JPEG's own phase (multiples of 8 px, edges at 8m-1/8m) is JPEG's
    # blocking unless its cells are flat *and* the steps between them large: heavy
    # JPEG flattens smooth areas into 8x8 cells too, but with steps of a few levels.
    jpeg_phase_max_interior: float = Field(default=0.8, ge=0.0)
    jpeg_phase_min_step: float = Field(default=8.0, ge=0.0)
    # Strongest column over median column a tile needs before the full grid search.
    gate_ratio: float = Field(default=4.0, ge=1.0)
    on_power: float = Field(default=1.0, gt=0.0)  # soft-minimum exponent over grid lines
    # Soft-maximum exponent elsewhere: 16 is nearly the maximum, so the second edge of
    # a graph-paper line or grout joint fails the candidate (4 let them through).
    off_power: float = Field(default=16.0, gt=0.0)
    # ... but 4 for periods up to small_period: small cells leave JPEG's ringing between
    # the grid lines, and the soft maximum locked on it and lost 4-15 px mosaics
    # (calibrated on seeds 1-5: +14 of 375 boxes for one more tile false positive; up
    # to 19 px let graph paper through).
    small_period: int = Field(default=15, ge=2)
    small_off_power: float = Field(default=4.0, gt=0.0)
    # A tile whose one direction passes the tests above also counts when the other
    # direction, at that period, has lines this strong on average (log contrast over the
    # soft maximum elsewhere) and a best phase weak_margin above the second: a line
    # between two cells of nearly one colour sinks the soft minimum, and a pixelated
    # smooth area has many (0: off). Seeds 1-5: pixelation recall 0.90 -> 0.92, no false
    # positive more; 0.8 let 3 tile grids through, 0.6 six.
    weak_contrast: float = Field(default=1.0, ge=0.0)
    weak_margin: float = Field(default=0.5, ge=0.0)
    allow_harmonic: bool = True  # accept period P in one direction and 2P in the other
    # Summed tile evidence (in units of min_grid_contrast) that makes score 1.0.
    min_tile_evidence: float = Field(default=2.0, gt=0.0)
    # Blur islands, on luma reduced 2x (4x from a short edge of blur_quarter_res_from px:
    # SA-1B's 1500 px; a Gaussian box of sigma >= 4 px is still flat at quarter size).
    blur_block: int = Field(default=16, ge=8)  # full-res px per sharpness block
    blur_quarter_res_from: int = Field(default=1000, ge=0)
    sharp_quantile: float = Field(default=0.9, gt=0.5, lt=1.0)
    # Log sharpness (relative to the sharp blocks) below which a block is "very unsharp";
    # islands are cut at each of these depths (every 1: a box whose inside lies at -6
    # merged with its surround at -5 and vanished at -7 with steps of 2; steps of 0.5
    # found 2 boxes more of 500 on seeds 1-5 for 1.3 ms an SA-1B image).
    unsharp_levels: tuple[float, ...] = (-3.0, -4.0, -5.0, -6.0, -7.0)
    min_island_fraction: float = Field(default=0.0005, ge=0.0)
    # 0.05-8 % of an SA-1B image is a face or plate; 15 % leaves room for the eval's
    # smaller photos, where a face-sized box of 112 px is up to 14 % (11 % lost them).
    max_island_fraction: float = Field(default=0.15, le=0.5)
    # 30 blocks of 16 px, about 90x90 px: smaller flat patches ringed by texture are
    # everywhere in photographs (calibrated: 4 let through 3x the false positives).
    min_island_blocks: int = Field(default=30, ge=1)
    # A square of this many blocks opens the unsharp mask: a blurred box that touches a
    # flat area (sky, a wall) at a corner or along a thin strip stands alone again
    # (without it, 37 of 75 boxes on seeds 1-3 merged with a region at the border; 3, not
    # 4, once the sides are checked: a 7x7-block box keeps more of itself).
    island_opening: int = Field(default=3, ge=0)
    # ... and again with a square of each of these: a box that meets a flat area along a
    # strip up to 4 blocks wide still merged with it at 3 (seeds 1-5: 5 boxes more of
    # 500, no false positive more).
    extra_openings: tuple[int, ...] = (5,)
    min_fill: float = Field(default=0.7, ge=0.0, le=1.0)  # island area / bounding box
    max_island_aspect: float = Field(default=3.5, ge=1.0)
    # Median sharpness of the frame of blocks around the island minus the island's
    # (log) that makes score 1.0 (2, not 4, once the sides are checked: what 4 kept out
    # were flat patches of clean photos, and those have no straight sides).
    blur_contrast: float = Field(default=2.0, gt=0.0)
    # Share of ring blocks sharper than ring_sharp_log an island needs (0: off; the sides
    # test rejects a soft fall-off, and 0.2 lost boxes with a flat patch along one side).
    min_sharp_ring: float = Field(default=0.0, ge=0.0, le=1.0)
    ring_sharp_log: float = Field(default=-2.0, lt=0.0)
    max_islands: int = Field(default=4, ge=1)  # more look-alike islands: a regular texture
    # The sides of a pasted box, on the reduced luma's squared Laplacian: each side is
    # looked for within edge_search blocks of the island's edge, with strips of
    # edge_strip px either side of it. At least three sides must step up from inside to
    # outside by min_edge_step (log) in each of edge_segments pieces along the side (a
    # straight edge: a natural flat area's boundary wanders), and the median side must
    # not be a thin line: its outside strip at most max_edge_line (log) sharper than
    # what lies beyond it (grout, ruled lines; a box's surround is texture). Seeds 1-5:
    # with the relaxed island tests above, blur recall 0.58 -> 0.80 and blur false
    # positives 8 -> 0 of 1000. A step of 1.0 (1.2 before): a flat patch of the rocket
    # photo at q90 has three sides at 0.91, a thin margin, but once the wider opening
    # cuts more boxes free 1.2 lost 3 of them on seeds 1-5 and 1.0 no false positive.
    # Only islands scoring at least min_candidate have their sides checked (the check
    # costs about 0.4 ms a candidate on an SA-1B image); the blur score is 0 below it.
    min_candidate: float = Field(default=1.0, ge=0.0)
    edge_strip: int = Field(default=3, ge=1)
    edge_search: int = Field(default=1, ge=0)
    edge_segments: int = Field(default=4, ge=1)
    min_edge_step: float = 1.0
    max_edge_line: float = 1.2
    # An island whose 8x8 JPEG blocks are nearly all flat (more than max_flat_cells of
    # them with no step inside) is a blurred flat area (grass, brick, a wall at sigma
    # 10-20), two neighbouring tiles of one colour, or heavy JPEG. It counts only if no
    # straight line crosses it (_crossing_line at most max_flat_line, log): the grout
    # between two tiles does. On all eleven seeds flat blurred boxes reach 0.89 and the
    # tile pairs start at 1.88; rejecting every flat island, as before, lost 5 blurred
    # boxes on seeds 0-22 and kept out 2 tile pairs. No heavy-JPEG image fires either
    # way: the sides test keeps them out.
    max_flat_cells: float = Field(default=0.9, ge=0.0, le=1.0)
    max_flat_line: float = Field(default=1.4, ge=0.0)

    @model_validator(mode="after")
    def _check(self) -> MosaicFilterConfig:
        if self.tile % self.stride:
            raise ValueError("mosaic.tile must be a multiple of mosaic.stride")
        if self.stride % JPEG_BLOCK:
            raise ValueError("mosaic.stride must be a multiple of 8 (JPEG block phase)")
        if self.fine_stride and (self.stride % self.fine_stride
                                 or self.fine_stride % JPEG_BLOCK):
            raise ValueError("mosaic.fine_stride must divide stride and be a multiple of 8")
        if any(size <= self.island_opening for size in self.extra_openings):
            raise ValueError("mosaic.extra_openings must be wider than island_opening")
        if not self.min_period <= self.max_period <= self.tile // 2:
            raise ValueError("mosaic periods need min_period <= max_period <= tile / 2")
        return self


@dataclass(frozen=True)
class MosaicResult:
    score: float
    pixelation_score: float
    blur_score: float
    kind: str | None  # which detector gave the score, None when both are 0
    period: int | None = None  # grid period of the best pixelated group
    box: tuple[int, int, int, int] | None = None  # (y0, x0, y1, x1) full-res px


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


def _best_grid(flat: np.ndarray, cfg: MosaicFilterConfig) -> dict[str, np.ndarray]:
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


def _gate(profiles: np.ndarray, cfg: MosaicFilterConfig) -> np.ndarray:
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


def _fill(keep: np.ndarray, prof: np.ndarray, cfg: MosaicFilterConfig) -> dict[str, np.ndarray]:
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


def _grids(px: np.ndarray, dx: np.ndarray, luma: np.ndarray, cfg: MosaicFilterConfig
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


def _horizontal_differences(luma: np.ndarray) -> np.ndarray:
    """|luma[y, x+1] - luma[y, x]| in uint8, one row short, so that every tile has the row
    below it for its vertical differences."""
    h = luma.shape[0] - 1
    # One SIMD pass (numpy needs max - min: three passes over the largest array here).
    return cv2.absdiff(luma[:h, 1:], luma[:h, :-1])


def pixelation_score(luma: np.ndarray, cfg: MosaicFilterConfig) -> tuple[float, int | None,
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


def _box_sides(energy: np.ndarray, box: tuple[int, int, int, int], search: int,
               cfg: MosaicFilterConfig) -> tuple[np.ndarray, np.ndarray]:
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
            cfg: MosaicFilterConfig) -> bool:
    """A pasted box: at least three straight, sharp sides, sharp with texture, not lines."""
    step, line = _box_sides(energy, box, search, cfg)
    return bool(np.sort(step)[1] >= cfg.min_edge_step and np.median(line) <= cfg.max_edge_line)


def _islands(rel: np.ndarray, unsharp: np.ndarray, cfg: MosaicFilterConfig
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


def blur_factor(shape: tuple[int, ...], cfg: MosaicFilterConfig) -> int:
    """Reduction of the luma plane that the blur map is computed on: 2 or 4."""
    return 4 if min(shape[:2]) >= cfg.blur_quarter_res_from else 2


def blur_score(small: np.ndarray, cfg: MosaicFilterConfig, factor: int = 2
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


def detect_mosaic(image: Image.Image, cfg: MosaicFilterConfig | None = None) -> MosaicResult:
    """Both detectors on one image (any PIL mode; luma is what they read)."""
    cfg = cfg or MosaicFilterConfig()
    luma_img = image.convert("L")
    luma = np.asarray(luma_img)
    pix, period, pix_box = 0.0, None, None
    blur, blur_box = 0.0, None
    if cfg.pixelation:
        pix, period, pix_box = pixelation_score(luma, cfg)
    if cfg.blur:
        factor = blur_factor(luma_img.size, cfg)
        small = np.asarray(luma_img.reduce(factor))
        blur, blur_box = blur_score(small, cfg, factor)
        if (blur_box and _jpeg_flat_share(luma, blur_box) > cfg.max_flat_cells
                and _crossing_line(small, blur_box, factor) > cfg.max_flat_line):
            blur, blur_box = 0.0, None
    if pix == 0.0 and blur == 0.0:
        return MosaicResult(0.0, 0.0, 0.0, None)
    if pix >= blur:
        return MosaicResult(pix, pix, blur, KIND_PIXELATION, period, pix_box)
    return MosaicResult(blur, pix, blur, KIND_BLUR, None, blur_box)


class MosaicFilter(BaseImageFilter):
    name: ClassVar[str] = "mosaic"
    score_columns: ClassVar[tuple[str, ...]] = ("mosaic_score",)

    def __init__(self, config: MosaicFilterConfig | None = None) -> None:
        self.config = config or MosaicFilterConfig()
        super().__init__(self.config.mode)

    def score(self, row: dict[str, Any], image: Image.Image | None) -> dict[str, Any]:
        if image is None:
            return {}
        result = detect_mosaic(image, self.config)
        if result.kind is not None:
            self.stats[f"scored_{result.kind}"] += 1
        return {"mosaic_score": result.score,
                "mosaic_detected": result.score >= self.config.threshold}

    def reject_reason(self, row: dict[str, Any], scores: dict[str, Any]) -> str | None:
        return REASON_DETECTED if scores.get("mosaic_detected") else None
