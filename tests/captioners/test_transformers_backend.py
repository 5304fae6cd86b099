"""The transformers backend on the tiny random LLaVA, through the real loaders."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from captioners.config import TransformersCaptionerConfig
from captioners.prepare import CAPTION_IMAGE, CAPTION_IMAGE_SHAPE
from captioners.transformers_backend import TransformersCaptioner
from paraimage.batches import batch_to_rows, rows_to_batch


@pytest.fixture(scope="module")
def captioner(tiny_llava: Path) -> TransformersCaptioner:
    config = TransformersCaptionerConfig(
        backend="transformers", model=str(tiny_llava), target_words=10, device="cpu",
        dtype="float32",
    )
    return TransformersCaptioner(config, str(tiny_llava), "tiny")


def rows(n: int) -> list[dict]:
    rng = np.random.default_rng(0)
    out = []
    for index in range(n):
        pixels = rng.integers(0, 255, size=(32 + 8 * index, 40, 3), dtype=np.uint8)
        out.append({"id": str(index), "status": "kept", CAPTION_IMAGE: pixels.tobytes(),
                    CAPTION_IMAGE_SHAPE: list(pixels.shape)})
    return out


def test_batched_generation_fills_caption_columns(captioner: TransformersCaptioner) -> None:
    out = batch_to_rows(captioner(rows_to_batch(rows(3))))
    max_tokens = captioner.params["max_tokens"]
    assert max_tokens == 48  # ceil(10 * 1.6) + 32
    for row in out:
        assert row["status"] == "kept"
        assert row["caption_model"] == "tiny"
        assert json.loads(row["caption_params"])["max_tokens"] == max_tokens
        assert row["caption_finish_reason"] in ("stop", "length")
        assert 0 < row["caption_n_tokens"] <= max_tokens
        if row["caption_finish_reason"] == "length":
            assert row["caption_n_tokens"] == max_tokens
        assert isinstance(row["caption_raw"], str)


@pytest.mark.slow  # four greedy generations of the real model
def test_batching_does_not_change_greedy_output(captioner: TransformersCaptioner) -> None:
    images = [np.frombuffer(r[CAPTION_IMAGE], np.uint8).reshape(r[CAPTION_IMAGE_SHAPE])
              for r in rows(3)]
    together = captioner.generate(images)
    alone = [captioner.generate([image])[0] for image in images]
    assert [g.text for g in together] == [g.text for g in alone]
    assert [g.n_tokens for g in together] == [g.n_tokens for g in alone]


def test_prompt_is_the_models_chat_template(captioner: TransformersCaptioner) -> None:
    assert captioner.prompt == (
        "USER: <image>\nProvide a detailed description of the image using approximately "
        "10 words. ASSISTANT:"
    )
