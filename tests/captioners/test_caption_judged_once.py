"""Caption QA runs once per caption: the retry check, the caption columns and the
``caption_variants`` entry of a primary captioner's main caption share one cleaning,
and a failed image's error message is built once for all of them."""

from __future__ import annotations

import json

import numpy as np
import pytest

import captioners.base
from captioners.base import BaseCaptioner, Generation
from captioners.config import PromptSpec, VLLMCaptionerConfig
from captioners.prepare import CAPTION_IMAGE, CAPTION_IMAGE_SHAPE
from captioners.qa import CleanCaption
from paraimage.batches import batch_to_rows, rows_to_batch

CONFIG = {
    "model": "org/model", "name": "llava", "target_words": 20,
    "variants": [{"target_words": 5}],
    "qa": {"policies": {"repetitive": "retry"}},
}
LOOP = "A dog and a dog and a dog and a dog and a dog and a dog."


class TracedCaptioner(BaseCaptioner):
    """Pixel value 0 fails its image; 10 loops on the main caption's first try."""

    model_name = "org/model"
    prompt_text = "Describe."
    params_json = json.dumps({"max_tokens": 64})
    retry_params_json = json.dumps({"max_tokens": 64, "temperature": 0.7})

    def generate(self, images: list[np.ndarray], retry: bool = False,
                 spec: PromptSpec | None = None) -> list[Generation | Exception]:
        out: list[Generation | Exception] = []
        for image in images:
            value = int(image.max())
            if value == 0:
                out.append(RuntimeError("engine died\nsecond line"))
            elif value == 10 and spec is None and not retry:
                out.append(Generation(LOOP, "stop", 14))
            else:
                label = spec.variant if spec else "main"
                out.append(Generation(f"A {label} caption of {value}.", "stop", 6))
        return out


def image_row(index: int, value: int) -> dict:
    pixels = np.full((4, 6, 3), value, dtype=np.uint8)
    return {"id": str(index), "status": "kept", CAPTION_IMAGE: pixels.tobytes(),
            CAPTION_IMAGE_SHAPE: list(pixels.shape)}


@pytest.fixture
def cleaned(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = captioners.base.clean_caption

    def counting(raw: str, *args: object, **kwargs: object) -> CleanCaption:
        calls.append(raw)
        return real(raw, *args, **kwargs)

    monkeypatch.setattr(captioners.base, "clean_caption", counting)
    return calls


@pytest.fixture
def error_messages(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    built: list[str] = []
    real = captioners.base._error_message

    def counting(exc: Exception) -> str:
        built.append(real(exc))
        return built[-1]

    monkeypatch.setattr(captioners.base, "_error_message", counting)
    return built


def test_each_caption_is_cleaned_once(cleaned: list[str]) -> None:
    captioner = TracedCaptioner(config=VLLMCaptionerConfig.model_validate(CONFIG))
    out = batch_to_rows(captioner(rows_to_batch([image_row(0, 10), image_row(1, 20)])))
    assert cleaned == [
        LOOP, "A main caption of 20.",  # the main captions' first try
        "A main caption of 10.",  # the retry of the repetitive one
        "A 5w caption of 10.", "A 5w caption of 20.",  # the variant
    ]
    main = [(row["caption"], row["caption_flags"], row["caption_variants"][0]["caption"],
             row["caption_variants"][0]["flags"]) for row in out]
    short, retried = ["off_length"], ["off_length", "retried"]  # 5 words, target 20
    assert main == [("A main caption of 10.", retried, "A main caption of 10.", retried),
                    ("A main caption of 20.", short, "A main caption of 20.", short)]


def test_a_failed_image_has_its_message_built_once(error_messages: list[str]) -> None:
    captioner = TracedCaptioner(config=VLLMCaptionerConfig.model_validate(CONFIG))
    (out,) = batch_to_rows(captioner(rows_to_batch([image_row(0, 0)])))
    message = "caption_failed: RuntimeError: engine died"
    assert error_messages == [message, message]  # main caption, then the variant
    assert (out["status"], out["error"]) == ("error", message)
    assert [(v["variant"], v["status"], v["reason"]) for v in out["caption_variants"]] == [
        ("20w", "error", message), ("5w", "error", message)]
