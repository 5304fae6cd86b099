"""``python -m filters.train_mosaic`` end to end at a tiny size, the weights it writes,
and the packaged weights the filter loads by default."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from filters.mosaic import MosaicFilterConfig, detect_mosaic
from filters.mosaic.learned import DEFAULT_WEIGHTS, load_model
from filters.mosaic_eval import generate
from filters.mosaic_eval.regions import Region
from filters.train_mosaic import CALIBRATION_FAMILIES, block_targets, main


def test_training_end_to_end_and_the_loaded_weights_score_the_same(tmp_path: Path) -> None:
    out = tmp_path / "weights.pt"
    assert main(["--n", "1", "--val-n", "1", "--epochs", "2", "--sizes", "small",
                 "--seed", "7", "--out", str(out)]) == 0
    model = load_model(str(out))
    meta = model.meta
    assert meta["data_seed"] == 7 and meta["validation_seed"] == 8
    assert meta["config"]["epochs"] == 2 and meta["config"]["sizes"] == ["small"]
    assert meta["config"]["families"] == list(CALIBRATION_FAMILIES)
    assert len(meta["losses"]) == 2 and model.rule.evidence >= 2.0
    # The validation images again, through the filter's own path, with these weights.
    cfg = MosaicFilterConfig(detector="learned", weights=str(out))
    again = [detect_mosaic(s.image, cfg).learned_score
             for s in generate(1, 8, CALIBRATION_FAMILIES, ("small",))]
    assert len(meta["scores"]) == len(again) == len(CALIBRATION_FAMILIES)
    np.testing.assert_allclose(again, meta["scores"], rtol=1e-4, atol=1e-6)


def test_a_missing_or_foreign_weights_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="mosaic weights not found"):
        load_model(str(tmp_path / "none.pt"))


def test_the_packaged_weights_are_small_and_say_how_they_were_made() -> None:
    assert DEFAULT_WEIGHTS.stat().st_size < 200_000
    meta = load_model().meta
    assert {"config", "data_seed", "validation_seed", "losses", "validation"} <= set(meta)
    assert set(meta["config"]["families"]) == set(CALIBRATION_FAMILIES)


def test_block_targets_mark_covered_blocks_and_ignore_grazed_ones() -> None:
    from filters.mosaic_eval import Sample

    alpha = np.ones((40, 40), np.float32)
    sample = Sample("x", "small", True, False, None, (Region((16, 16, 56, 56), alpha),))  # type: ignore[arg-type]
    target, weight = block_targets(sample, (5, 5))
    # Blocks 1-2 are covered; block 3 (px 48-63) is half covered each way: a positive
    # beside a covered block, a quarter (ignored) at the corner; blocks 0 and 4 are clear.
    expected = np.zeros((5, 5))
    expected[1:4, 1:4] = 1
    expected[3, 3] = 0
    np.testing.assert_array_equal(target, expected)
    assert weight[3, 3] == 0 and weight.sum() == 24
