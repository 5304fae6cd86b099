"""Aesthetic score: the LAION improved aesthetic predictor (CLIP ViT-L/14 + MLP head).

The score is what LAION-Aesthetics was built with: OpenAI CLIP ViT-L/14 image
embeddings, L2-normalised (768-d), through a small linear MLP whose weights are
``sac+logos+ava1-l14-linearMSE.pth`` (christophschuhmann/improved-aesthetic-predictor),
on a 1-10 scale. LAION rows already carry that score (``source_aesthetic``): we reuse it
unless the config asks to recompute, and record which one the row holds.

Heavy imports (torch, open_clip) happen in ``__init__`` so that importing ``filters``
stays cheap for CPU-only stages.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal
from urllib.parse import urlparse

from PIL import Image
from pydantic import Field

from filters.base import STAT_UNSCORED, BatchImageFilter, FilterConfig
from filters.registry import FilterKind, register_filter

if TYPE_CHECKING:
    import torch

REASON_LOW_SCORE = "aesthetic_low_score"
SOURCE_METADATA = "source"
SOURCE_COMPUTED = "computed"

HEAD_URL = (
    "https://github.com/christophschuhmann/improved-aesthetic-predictor/raw/main/"
    "sac%2Blogos%2Bava1-l14-linearMSE.pth"
)
# Widths of the upstream MLP after the CLIP embedding; the last layer gives the score.
HEAD_HIDDEN = (1024, 128, 64, 16)
HEAD_DROPOUT = (0.2, 0.2, 0.1)
DEFAULT_CACHE_DIR = Path(os.environ.get("PARAIMAGE_CACHE", Path.home() / ".cache" / "paraimage"))


class AestheticFilterConfig(FilterConfig):
    clip_model: str = "ViT-L-14"
    # An open_clip pretrained tag ("openai") or a local checkpoint path; None builds
    # random weights (tests only: scores are then meaningless).
    pretrained: str | None = "openai"
    head_weights: str = HEAD_URL  # local path or http(s) URL of the MLP state dict
    recompute: bool = False  # True: ignore the source's score and compute ours
    # LAION-Aesthetics publishes 6+ and 6.5+ subsets; ParaImage kept "above a threshold".
    threshold: float = Field(default=6.0, ge=0.0, le=10.0)
    batch_size: int = Field(default=32, ge=1)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    cache_dir: Path = DEFAULT_CACHE_DIR  # where a head given by URL is downloaded once


def build_aesthetic_head(input_dim: int) -> torch.nn.Module:
    """The upstream MLP, module for module, so its state-dict keys load unchanged.

    Upstream names the layers ``layers.0`` .. ``layers.7`` (Linear, Dropout, Linear,
    Dropout, Linear, Dropout, Linear, Linear); its ReLUs are commented out, so the head
    is linear in the embedding.
    """
    from torch import nn

    modules: list[nn.Module] = []
    width = input_dim
    for i, hidden in enumerate(HEAD_HIDDEN):
        modules.append(nn.Linear(width, hidden))
        if i < len(HEAD_DROPOUT):
            modules.append(nn.Dropout(HEAD_DROPOUT[i]))
        width = hidden
    modules.append(nn.Linear(width, 1))

    class AestheticHead(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = nn.Sequential(*modules)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.layers(x)

    return AestheticHead()


def resolve_weights(path_or_url: str, cache_dir: Path) -> Path:
    """A local file for ``path_or_url``, downloading a URL once into ``cache_dir``."""
    if urlparse(path_or_url).scheme in ("http", "https"):
        import torch

        name = Path(urlparse(path_or_url).path).name or "head.pth"
        key = hashlib.sha256(path_or_url.encode()).hexdigest()[:12]
        target = Path(cache_dir) / f"{key}-{name}"
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            torch.hub.download_url_to_file(path_or_url, str(target), progress=False)
        return target
    path = Path(path_or_url).expanduser()
    if not path.is_file():
        raise ValueError(f"aesthetic.head_weights: no such file: {path_or_url}")
    return path


def load_aesthetic_head(path_or_url: str, input_dim: int, cache_dir: Path) -> torch.nn.Module:
    """Load ``sac+logos+ava1-l14-linearMSE.pth`` (a plain ``torch.save(state_dict)``)."""
    import torch

    state = torch.load(resolve_weights(path_or_url, cache_dir), map_location="cpu",
                       weights_only=True)
    if "state_dict" in state:  # a Lightning checkpoint of the same module
        state = state["state_dict"]
    head_dim = state["layers.0.weight"].shape[1]
    if head_dim != input_dim:
        raise ValueError(
            f"aesthetic.head_weights expects {head_dim}-d embeddings but the CLIP model "
            f"gives {input_dim}-d (the LAION head needs ViT-L-14, 768-d)"
        )
    head = build_aesthetic_head(input_dim)
    head.load_state_dict(state)
    return head.eval()


class AestheticFilter(BatchImageFilter):
    name: ClassVar[str] = "aesthetic"
    score_columns: ClassVar[tuple[str, ...]] = ("aesthetic_score",)

    def __init__(self, config: AestheticFilterConfig | None = None) -> None:
        self.config = config or AestheticFilterConfig()
        super().__init__(self.config.mode, self.config.sources)
        self._model: Any = None  # built on first need: LAION rows may never need it

    def _load(self) -> None:
        import open_clip
        import torch

        cfg = self.config
        if cfg.device == "auto":
            self.device = "cuda" if torch.cuda.is_available() else "cpu"
        else:
            self.device = cfg.device
        model, _, preprocess = open_clip.create_model_and_transforms(
            cfg.clip_model, pretrained=cfg.pretrained, device=self.device
        )
        self.embed_dim = int(model.visual.output_dim)
        self.head = load_aesthetic_head(cfg.head_weights, self.embed_dim, cfg.cache_dir)
        self.head.to(self.device)
        self.preprocess = preprocess
        self._model = model.eval()

    def load(self) -> AestheticFilter:
        """Load CLIP and the head now (actor start-up) instead of on the first batch."""
        if self._model is None:
            self._load()
        return self

    def embed(self, images: Sequence[Image.Image]) -> torch.Tensor:
        """L2-normalised CLIP image embeddings, shape ``(n, embed_dim)``, on the CPU."""
        import torch

        self.load()
        out = []
        for start in range(0, len(images), self.config.batch_size):
            chunk = images[start : start + self.config.batch_size]
            pixels = torch.stack([self.preprocess(im.convert("RGB")) for im in chunk])
            pixels = pixels.to(self.device)
            with torch.inference_mode(), torch.autocast(
                "cuda", dtype=torch.float16, enabled=self.device == "cuda"
            ):
                features = self._model.encode_image(pixels).float()
            # Upstream normalises before the head; the head was trained on unit vectors.
            out.append(torch.nn.functional.normalize(features, dim=-1).cpu())
        return torch.cat(out) if out else torch.empty(0, 0)

    def predict(self, images: Sequence[Image.Image]) -> list[float]:
        """Aesthetic scores (LAION's 1-10 scale) of ``images``."""
        import torch

        if not images:
            return []
        embeddings = self.embed(images)
        with torch.inference_mode():
            scores = self.head(embeddings.to(self.device)).float().squeeze(-1).cpu()
        return [float(s) for s in scores]

    def score_batch(
        self, rows: Sequence[dict[str, Any]], images: Sequence[Image.Image | None]
    ) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = [{} for _ in rows]
        to_compute: list[int] = []
        for i, (row, image) in enumerate(zip(rows, images, strict=True)):
            source = row.get("source_aesthetic")
            if source is not None and source == source and not self.config.recompute:
                results[i] = {"aesthetic_score": float(source),
                              "aesthetic_source": SOURCE_METADATA}
            elif image is not None:
                to_compute.append(i)
            else:
                self.stats[STAT_UNSCORED] += 1
                results[i] = {"aesthetic_score": None, "aesthetic_source": None}
        scores = self.predict([images[i] for i in to_compute])  # type: ignore[misc]
        for i, s in zip(to_compute, scores, strict=True):
            results[i] = {"aesthetic_score": s, "aesthetic_source": SOURCE_COMPUTED}
        return results

    def reject_reason(self, row: dict[str, Any], scores: dict[str, Any]) -> str | None:
        value = scores.get("aesthetic_score")
        if value is None:
            return None
        return REASON_LOW_SCORE if value < self.config.threshold else None


register_filter(FilterKind(
    AestheticFilterConfig, AestheticFilter, order=60,
    card_settings=("threshold", "clip_model", "recompute"),
))
