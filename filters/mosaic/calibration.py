"""Calibration of the hand-built mosaic detectors: the thresholds and sizes they were
tuned with on ``python -m filters.mosaic_eval``. Not a user's knob: a user turns
``MosaicFilterConfig`` (mode, threshold, which detectors); what each value here was
chosen from is in the comments, in ``tests/filters/test_mosaic*.py`` (the cases that
pinned it) and in the method section of ``filters/README.md``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

# JPEG codes 8x8 blocks from the image origin: its block edges sit between pixel 8m-1
# and 8m, i.e. at difference index 7 mod 8 (tiles start at multiples of 8).
JPEG_BLOCK = 8
LOG_EPS = 0.5  # grey levels added before the log: noise-floor of a "flat" column


class MosaicCalibration(BaseModel):
    """Every threshold of the pixelation and blur-island detectors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

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
    def _check(self) -> MosaicCalibration:
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


DEFAULT_CALIBRATION = MosaicCalibration()
