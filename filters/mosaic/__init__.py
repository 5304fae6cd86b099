"""Mosaic detection: pasted blur and pixelation (SA-1B's blurred faces and licence
plates, which ParaImage drops, §3.2.1).

* ``detect.py``: ``MosaicFilterConfig`` (the user's knobs), ``detect_mosaic``,
  ``MosaicFilter``.
* ``learned.py`` + ``features.py``: the learned block detector and its features.
* ``pixelation.py``: the hand-built pixelation (grid of flat cells) detector.
* ``blur.py``: the hand-built blur-island detector.
* ``planes.py``: planes both hand-built detectors read.
* ``calibration.py``: ``MosaicCalibration``, the hand-built detectors' thresholds.
* ``weights/``: the learned detector's weights (``python -m filters.train_mosaic``).

The method and its measurements are in ``filters/README.md``.
"""

from filters.mosaic.calibration import DEFAULT_CALIBRATION, MosaicCalibration
from filters.mosaic.detect import (
    DETECTORS,
    REASON_DETECTED,
    MosaicFilter,
    MosaicFilterConfig,
    MosaicResult,
    detect_mosaic,
)

__all__ = [
    "DEFAULT_CALIBRATION",
    "DETECTORS",
    "REASON_DETECTED",
    "MosaicCalibration",
    "MosaicFilter",
    "MosaicFilterConfig",
    "MosaicResult",
    "detect_mosaic",
]
