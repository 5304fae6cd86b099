"""CogVLM-style models (the paper's captioner) through the transformers backend: a tiny
random model whose repository ships its own code, loaded with trust_remote_code."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tiny_cogvlm import build_tiny_cogvlm

from captioners.cogvlm_chat import uses_cogvlm_interface
from captioners.config import TransformersCaptionerConfig
from captioners.model_source import prepare_captioner
from captioners.prepare import CAPTION_IMAGE, CAPTION_IMAGE_SHAPE
from captioners.transformers_backend import TransformersCaptioner
from paraimage.batches import batch_to_rows, rows_to_batch


@pytest.fixture(scope="module")
def tiny_cogvlm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_cogvlm(tmp_path_factory.mktemp("models") / "tiny-cogvlm")


def cog_config(model: Path, **extra: object) -> TransformersCaptionerConfig:
    return TransformersCaptionerConfig(
        backend="transformers", model=str(model), target_words=10, device="cpu",
        dtype="float32", **{"trust_remote_code": True, **extra},
    )


@pytest.fixture(scope="module")
def captioner(tiny_cogvlm: Path) -> TransformersCaptioner:
    return TransformersCaptioner(cog_config(tiny_cogvlm), str(tiny_cogvlm), "tiny-cogvlm")


def rows(n: int) -> list[dict]:
    rng = np.random.default_rng(1)
    out = []
    for index in range(n):
        pixels = rng.integers(0, 255, size=(24 + 8 * index, 30, 3), dtype=np.uint8)
        out.append({"id": str(index), "status": "kept", CAPTION_IMAGE: pixels.tobytes(),
                    CAPTION_IMAGE_SHAPE: list(pixels.shape)})
    return out


def test_detects_the_cogvlm_interface(tiny_cogvlm: Path, tiny_llava: Path) -> None:
    assert uses_cogvlm_interface(str(tiny_cogvlm)) is True
    assert uses_cogvlm_interface(str(tiny_llava)) is False
    model, image_size = prepare_captioner(cog_config(tiny_cogvlm))
    assert (model.path, image_size) == (str(tiny_cogvlm.resolve()), 16)


def test_captions_through_the_models_own_prompt_code(captioner: TransformersCaptioner) -> None:
    assert captioner.cogvlm is not None
    # the query goes to the model's code as is; its "chat" template wraps it
    assert captioner.prompt == (
        "Provide a detailed description of the image using approximately 10 words."
    )
    out = batch_to_rows(captioner(rows_to_batch(rows(3))))
    for row in out:
        assert row["status"] == "kept"
        assert row["caption_model"] == "tiny-cogvlm"
        assert json.loads(row["caption_params"])["max_tokens"] == 48
        assert 0 < row["caption_n_tokens"] <= 48
        assert isinstance(row["caption_raw"], str)


@pytest.mark.slow  # four greedy generations of the real model
def test_left_padded_batches_match_single_images(captioner: TransformersCaptioner) -> None:
    images = [np.frombuffer(r[CAPTION_IMAGE], np.uint8).reshape(r[CAPTION_IMAGE_SHAPE])
              for r in rows(3)]
    together = captioner.generate(images)
    alone = [captioner.generate([image])[0] for image in images]
    assert [g.text for g in together] == [g.text for g in alone]
    assert [g.n_tokens for g in together] == [g.n_tokens for g in alone]


def test_remote_code_must_be_allowed(tiny_cogvlm: Path) -> None:
    with pytest.raises(ValueError, match="set captioner.trust_remote_code: true"):
        TransformersCaptioner(cog_config(tiny_cogvlm, trust_remote_code=False),
                              str(tiny_cogvlm), "tiny-cogvlm")
