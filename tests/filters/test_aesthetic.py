"""The aesthetic path through open_clip, with random weights (no model hub).

ViT-L-14 with random weights runs ~1 image/s on CPU, so the computed path uses the
smaller ViT-S-32 (384-d) through the same loader; the default config's 768-d ViT-L-14
head shape is checked separately.
"""

from __future__ import annotations

import http.server
from collections.abc import Callable
from pathlib import Path
from typing import Any

import open_clip
import pytest
import torch
from filter_helpers import photo

from filters.aesthetic import (
    HEAD_URL,
    AestheticFilter,
    AestheticFilterConfig,
    build_aesthetic_head,
    load_aesthetic_head,
    resolve_weights,
)

SMALL_MODEL, SMALL_DIM = "ViT-S-32", 384
HEAD_NAME = "sac+logos+ava1-l14-linearMSE.pth"


def save_random_head(path: Path, dim: int) -> Path:
    """A random head in the upstream file format: ``torch.save(state_dict)``."""
    torch.manual_seed(0)
    head = build_aesthetic_head(dim)
    with torch.no_grad():
        # Upstream's head puts unit-norm CLIP embeddings around 5 on its 1-10 scale;
        # small weights and that bias keep the random head on the same scale.
        for layer in head.layers:
            if isinstance(layer, torch.nn.Linear):
                layer.weight.mul_(0.1)
                layer.bias.zero_()
        head.layers[-1].bias.fill_(5.0)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(head.state_dict(), path)
    return path


@pytest.fixture(scope="module")
def head_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_random_head(tmp_path_factory.mktemp("head") / HEAD_NAME, SMALL_DIM)


@pytest.fixture(scope="module")
def small_filter(head_file: Path, tmp_path_factory: pytest.TempPathFactory) -> AestheticFilter:
    config = AestheticFilterConfig(
        clip_model=SMALL_MODEL, pretrained=None, head_weights=str(head_file), device="cpu",
        batch_size=2, threshold=5.0, cache_dir=tmp_path_factory.mktemp("cache"),
    )
    return AestheticFilter(config)


def test_default_config_is_the_laion_predictor() -> None:
    config = AestheticFilterConfig()
    assert (config.clip_model, config.pretrained, config.head_weights) == (
        "ViT-L-14", "openai", HEAD_URL)
    assert config.recompute is False and config.device == "auto"
    dim = open_clip.get_model_config(config.clip_model)["embed_dim"]
    assert dim == 768
    shapes = {k: tuple(v.shape) for k, v in build_aesthetic_head(dim).state_dict().items()}
    assert shapes == {
        "layers.0.weight": (1024, 768), "layers.0.bias": (1024,),
        "layers.2.weight": (128, 1024), "layers.2.bias": (128,),
        "layers.4.weight": (64, 128), "layers.4.bias": (64,),
        "layers.6.weight": (16, 64), "layers.6.bias": (16,),
        "layers.7.weight": (1, 16), "layers.7.bias": (1,),
    }


def test_head_is_linear_with_dropout_between(head_file: Path, tmp_path: Path) -> None:
    head = load_aesthetic_head(str(head_file), SMALL_DIM, tmp_path)
    kinds = [type(m).__name__ for m in head.layers]
    assert kinds == ["Linear", "Dropout", "Linear", "Dropout", "Linear", "Dropout", "Linear",
                     "Linear"]
    assert not head.training  # eval(): dropout off, scores deterministic


def test_computed_scores_through_open_clip(small_filter: AestheticFilter) -> None:
    images = [photo("astronaut"), photo("coffee"), photo("chelsea")]
    rows: list[dict] = [{}, {"source_aesthetic": None}, {"source_aesthetic": float("nan")}]
    scores = small_filter.score_batch(rows, images)
    assert [s["aesthetic_source"] for s in scores] == ["computed"] * 3
    values = [s["aesthetic_score"] for s in scores]
    assert all(isinstance(v, float) and 1.0 <= v <= 10.0 for v in values)

    embeddings = small_filter.embed(images)  # batch_size=2: two chunks
    assert embeddings.shape == (3, SMALL_DIM)
    assert torch.allclose(embeddings.norm(dim=-1), torch.ones(3), atol=1e-5)
    # The same numbers by hand: CLIP features -> L2-normalise -> head.
    with torch.inference_mode():
        pixels = torch.stack([small_filter.preprocess(im) for im in images])
        features = small_filter._model.encode_image(pixels)
        expected = small_filter.head(features / features.norm(dim=-1, keepdim=True)).squeeze(-1)
    assert values == pytest.approx(expected.tolist(), abs=1e-4)


def test_source_score_is_used_unless_recompute(small_filter: AestheticFilter,
                                               head_file: Path, tmp_path: Path) -> None:
    lazy = AestheticFilter(AestheticFilterConfig(
        clip_model=SMALL_MODEL, pretrained=None, head_weights=str(head_file), threshold=5.0,
        device="cpu", cache_dir=tmp_path))
    rows = [{"source_aesthetic": 6.5}, {"source_aesthetic": 4.0}]
    reasons = lazy.apply_batch(rows, [photo("astronaut"), None])
    assert reasons == [None, "aesthetic_low_score"]
    assert [(r["aesthetic_score"], r["aesthetic_source"]) for r in rows] == [
        (6.5, "source"), (4.0, "source")]
    assert lazy._model is None  # LAION rows never load CLIP

    small_filter.config = small_filter.config.model_copy(update={"recompute": True})
    try:
        scores = small_filter.score_batch([{"source_aesthetic": 9.9}], [photo("astronaut")])
    finally:
        small_filter.config = small_filter.config.model_copy(update={"recompute": False})
    assert scores[0]["aesthetic_source"] == "computed"
    assert scores[0]["aesthetic_score"] != 9.9


def test_row_without_image_or_source_passes_unscored(small_filter: AestheticFilter) -> None:
    row: dict = {}
    assert small_filter.apply(row, None) is None
    assert row["aesthetic_score"] is None and row["aesthetic_source"] is None


def test_head_of_the_wrong_width_fails_clearly(head_file: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="384-d embeddings but the CLIP model gives 768-d"):
        load_aesthetic_head(str(head_file), 768, tmp_path)
    with pytest.raises(ValueError, match="no such file"):
        resolve_weights(str(tmp_path / "missing.pth"), tmp_path)


@pytest.fixture()
def http_dir(tmp_path: Path, http_server: Callable[..., Any]) -> tuple[Path, str]:
    serve = tmp_path / "www"
    serve.mkdir()
    return serve, http_server(http.server.SimpleHTTPRequestHandler, directory=serve).url


def test_head_by_url_is_downloaded_once(http_dir: tuple[Path, str], tmp_path: Path) -> None:
    serve, base = http_dir
    save_random_head(serve / HEAD_NAME, SMALL_DIM)
    url = f"{base}/sac%2Blogos%2Bava1-l14-linearMSE.pth"
    cache = tmp_path / "cache"
    first = resolve_weights(url, cache)
    assert first.parent == cache and first.name.endswith("linearMSE.pth")
    (serve / HEAD_NAME).unlink()  # a second resolve must not need the server
    assert resolve_weights(url, cache) == first
    head = load_aesthetic_head(url, SMALL_DIM, cache)
    assert head.layers[-1].bias.item() == pytest.approx(5.0)
