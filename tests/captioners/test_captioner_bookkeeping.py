"""BaseCaptioner bookkeeping with a scripted backend (the real backends run in the
integration tests): failure isolation, error rows, stored columns."""

from __future__ import annotations

import json

import numpy as np
import pytest

from captioners.base import BaseCaptioner, Generation
from captioners.config import PromptSpec, VLLMCaptionerConfig
from captioners.prepare import CAPTION_IMAGE, CAPTION_IMAGE_SHAPE, CaptionImagePrep
from captioners.qa import QAConfig, clean_caption, cut_to_last_sentence
from curation.probe import IMAGE_BYTES
from paraimage.batches import batch_to_rows, rows_to_batch


class ScriptedCaptioner(BaseCaptioner):
    """Fails any batch that contains an all-black image (value 0)."""

    model_name = "scripted"
    prompt_text = "Describe."
    params_json = json.dumps({"max_tokens": 5})
    retry_params_json = json.dumps({"max_tokens": 5, "temperature": 0.7})

    def __init__(self, qa: QAConfig | None = None, texts: dict[int, list[str]] | None = None):
        super().__init__(qa=qa)
        self.calls: list[tuple[int, bool]] = []
        # pixel value -> texts for the first call, the retry, ...
        self.texts = texts or {}

    def generate(self, images: list[np.ndarray], retry: bool = False,
                 spec: PromptSpec | None = None) -> list[Generation]:
        self.calls.append((len(images), retry))
        if any(int(image.max()) == 0 for image in images):
            raise RuntimeError("CUDA out of memory\nsecond line")
        out = []
        for image in images:
            value = int(image.max())
            texts = self.texts.get(value, [f"A grey square {value}. It is"])
            out.append(Generation(texts[min(int(retry), len(texts) - 1)], "length", 5))
        return out


def image_row(index: int, value: int, status: str = "kept") -> dict:
    pixels = np.full((4, 6, 3), value, dtype=np.uint8)
    return {
        "id": str(index), "status": status,
        CAPTION_IMAGE: pixels.tobytes() if status == "kept" else None,
        CAPTION_IMAGE_SHAPE: list(pixels.shape) if status == "kept" else None,
    }


def test_one_bad_image_fails_alone_after_halving() -> None:
    captioner = ScriptedCaptioner()
    rows = [image_row(0, 10), image_row(1, 0), image_row(2, 30), image_row(3, 40),
            image_row(4, 50, status="rejected")]
    out = batch_to_rows(captioner(rows_to_batch(rows)))
    assert [r["status"] for r in out] == ["kept", "error", "kept", "kept", "rejected"]
    assert out[1]["error"] == "caption_failed: RuntimeError: CUDA out of memory"
    assert out[0]["caption_raw"] == "A grey square 10. It is"
    assert out[0]["caption"] == "A grey square 10."  # cut back to the last full sentence
    assert out[0]["caption_flags"] == ["truncated"]
    assert (out[0]["caption_model"], out[0]["caption_prompt"]) == ("scripted", "Describe.")
    assert out[0]["caption_params"] == '{"max_tokens": 5}'
    assert (out[0]["caption_finish_reason"], out[0]["caption_n_tokens"]) == ("length", 5)
    assert out[4].get("caption") is None  # rows already out are not captioned
    assert all(CAPTION_IMAGE not in r and CAPTION_IMAGE_SHAPE not in r for r in out)
    # 4 images -> fail -> [2, 2] -> the pair holding the bad one -> [1, 1]
    assert captioner.calls == [(4, False), (2, False), (1, False), (1, False), (2, False)]
    assert captioner.stats["failed"] == 1 and captioner.stats["captioned"] == 3


def test_qa_policies_retry_once_then_reject() -> None:
    qa = QAConfig(policies={"repetitive": "retry", "refusal": "reject"})
    loop = "A dog and a dog and a dog and a dog and a dog and a dog."
    captioner = ScriptedCaptioner(
        qa=qa,
        texts={
            10: [loop, "A brown dog sits on green grass."],  # fixed by the retry
            20: [loop, loop],  # still repetitive after its one retry: kept, flagged
            30: ["I'm sorry, but I can't describe this image."],  # rejected, no retry
            40: ["A red kite in a blue sky."],  # clean
        },
    )
    rows = [image_row(0, 10), image_row(1, 20), image_row(2, 30), image_row(3, 40)]
    out = batch_to_rows(captioner(rows_to_batch(rows)))
    assert captioner.calls == [(4, False), (2, True)]
    assert (out[0]["caption"], out[0]["caption_flags"]) == (
        "A brown dog sits on green grass.", ["truncated", "retried"],
    )
    assert out[0]["caption_params"] == captioner.retry_params_json
    assert (out[1]["status"], out[1]["caption_flags"]) == (
        "kept", ["truncated", "repetitive", "retried"],
    )
    assert (out[2]["status"], out[2]["reject_reason"]) == ("rejected", "caption_refusal")
    assert out[2]["caption_raw"] == "I'm sorry, but I can't describe this image."
    assert (out[3]["status"], out[3]["caption_flags"]) == ("kept", ["truncated"])
    assert out[3]["caption_params"] == captioner.params_json
    assert captioner.stats["qa_retried"] == 2
    assert captioner.stats["rejected_caption_refusal"] == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("One. Two! Three? Four", "One. Two! Three?"),
        ('He said "hi." Then', 'He said "hi."'),
        ("no sentence end", "no sentence end"),
        ("Version 1.5 is good. And", "Version 1.5 is good."),
    ],
)
def test_cut_to_last_sentence(text: str, expected: str) -> None:
    assert cut_to_last_sentence(text) == expected


def test_clean_caption_flags() -> None:
    assert clean_caption("  A cat.  ", "stop").caption == "A cat."
    assert clean_caption("  A cat.  ", "stop").flags == []
    assert clean_caption("   ", "stop").flags == ["empty"]


def test_prepare_resizes_short_edge_and_keeps_aspect(astronaut_jpeg: bytes) -> None:
    import io

    from PIL import Image

    wide = io.BytesIO()
    Image.new("RGB", (900, 300), (10, 20, 30)).save(wide, format="PNG")
    tiny = io.BytesIO()
    Image.new("RGB", (20, 10), (10, 20, 30)).save(tiny, format="PNG")
    rows = [
        {"id": "a", "status": "kept", IMAGE_BYTES: astronaut_jpeg},
        {"id": "w", "status": "kept", IMAGE_BYTES: wide.getvalue()},
        {"id": "t", "status": "kept", IMAGE_BYTES: tiny.getvalue()},
        {"id": "x", "status": "error", IMAGE_BYTES: None},
    ]
    out = {r["id"]: r for r in batch_to_rows(CaptionImagePrep(64)(rows_to_batch(rows)))}
    assert out["a"][CAPTION_IMAGE_SHAPE] == [64, 64, 3]
    assert out["w"][CAPTION_IMAGE_SHAPE] == [64, 192, 3]
    assert out["t"][CAPTION_IMAGE_SHAPE] == [10, 20, 3]  # never upscaled
    assert len(out["a"][CAPTION_IMAGE]) == 64 * 64 * 3
    assert out["x"][CAPTION_IMAGE] is None
    assert all(IMAGE_BYTES not in r for r in out.values())  # originals stop here


def test_max_tokens_follows_the_target_length() -> None:
    config = VLLMCaptionerConfig(model="org/model", target_words=50)
    assert config.max_tokens == 112
    assert config.prompt_text.endswith("approximately 50 words.")
    pinned = VLLMCaptionerConfig(model="org/model", sampling={"max_tokens": 9})
    assert json.loads(pinned.sampling_params_json())["max_tokens"] == 9


def test_prompt_with_unknown_placeholder_is_refused() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="only use the {n_words} placeholder"):
        VLLMCaptionerConfig(model="org/model", prompt="Describe in {words} words")
    with pytest.raises(ValidationError, match=r"engine_kwargs may not set \['seed'\]"):
        VLLMCaptionerConfig(model="org/model", engine_kwargs={"seed": 1})


class VariantCaptioner(ScriptedCaptioner):
    """Answers with the variant it was asked for, so each entry can be traced."""

    def __init__(self, config: VLLMCaptionerConfig, **kwargs) -> None:
        BaseCaptioner.__init__(self, config=config, **kwargs)
        self.calls = []
        self.texts = {}

    def generate(self, images: list[np.ndarray], retry: bool = False,
                 spec: PromptSpec | None = None) -> list[Generation]:
        self.calls.append((len(images), spec.variant if spec else None))
        if any(int(image.max()) == 0 for image in images):
            raise RuntimeError("engine died")
        label = spec.variant if spec else "main"
        return [Generation(f"The image shows a {label} caption.", "stop", 7) for _ in images]


VARIANTS_CONFIG = {
    "model": "org/model", "name": "llava", "target_words": 20,
    "prompts": {"brief": "Say in {n_words} words what is shown."},
    "variants": [{"target_words": 5}, {"name": "brief10", "target_words": 10,
                                       "prompt": "brief"}],
}


def test_length_variants_are_stored_per_image() -> None:
    config = VLLMCaptionerConfig.model_validate(VARIANTS_CONFIG)
    captioner = VariantCaptioner(config)
    captioner.model_name = "org/model"
    rows = [image_row(0, 10), image_row(1, 0), image_row(2, 20, status="rejected")]
    out = batch_to_rows(captioner(rows_to_batch(rows)))
    assert out[0]["caption"] == "A main caption."
    variants = out[0]["caption_variants"]
    assert [(v["captioner"], v["variant"], v["target_words"], v["caption"], v["status"])
            for v in variants] == [
        ("llava", "20w", 20, "A main caption.", "ok"),
        ("llava", "5w", 5, "A 5w caption.", "ok"),
        ("llava", "brief10", 10, "A brief10 caption.", "ok"),
    ]
    assert variants[2]["prompt"] == "Say in 10 words what is shown."
    assert variants[1]["prompt"].endswith("approximately 5 words.")
    assert json.loads(variants[1]["params"])["max_tokens"] == 40  # ceil(5 * 1.6) + 32
    assert variants[1]["flags"] == ["prefix_stripped"]  # 3 words: within 5 +- 50%
    assert (variants[1]["n_words"], variants[1]["n_tokens"]) == (3, 7)
    # the black image fails alone in every variant; its row says so in each entry
    assert out[1]["status"] == "error"
    assert [(v["variant"], v["status"], v["reason"]) for v in out[1]["caption_variants"]] == [
        ("20w", "error", "caption_failed: RuntimeError: engine died"),
        ("5w", "error", "caption_failed: RuntimeError: engine died"),
        ("brief10", "error", "caption_failed: RuntimeError: engine died"),
    ]
    assert out[2].get("caption_variants") is None


def test_a_compared_captioner_only_adds_variants() -> None:
    config = VLLMCaptionerConfig.model_validate({**VARIANTS_CONFIG, "name": "other"})
    captioner = VariantCaptioner(config, primary=False, drop_images=False)
    captioner.model_name = "org/other"
    first = {"captioner": "llava", "variant": "20w"}
    row = {**image_row(0, 10), "caption": "kept as it was", "caption_variants": [first]}
    (out,) = batch_to_rows(captioner(rows_to_batch([row])))
    assert out["caption"] == "kept as it was"
    assert [(v["captioner"], v["variant"], v["model"]) for v in out["caption_variants"]] == [
        ("llava", "20w", None), ("other", "20w", "org/other"), ("other", "5w", "org/other"),
        ("other", "brief10", "org/other"),
    ]
    assert out[CAPTION_IMAGE] is not None  # a later captioner still needs the pixels


def test_variant_config_errors() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=r"prompt 'terse' is not a name in `prompts`"):
        VLLMCaptionerConfig(model="m", variants=[{"target_words": 5, "prompt": "terse"}])
    with pytest.raises(ValidationError, match=r"variant names must be unique: \['150w'\]"):
        VLLMCaptionerConfig(model="m", variants=[{"target_words": 150}])
