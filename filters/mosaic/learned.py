"""Learned detector: a small fully convolutional net over the block features
(``features.py``) gives each 16-px block the probability that it lies in a pasted blur
or pixelation; connected blocks of high probability are the regions (``RegionRule``).

Weights live in ``filters/mosaic/weights/`` (written by ``python -m
filters.train_mosaic``, with the training config, the data seed and the
region rule chosen on the calibration families). A region's score is its evidence
over the rule's threshold, so 1.0 is the decision boundary as for the hand-built
detectors. The net runs on CPU in one thread: on a 93x140 map a copy to a GPU costs more
than the convolutions, and a filter task holds one CPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from scipy import ndimage

from filters.mosaic.features import BLOCK, CHANNELS, block_features, working_plane

WEIGHTS_DIR = Path(__file__).parent / "weights"
DEFAULT_WEIGHTS = WEIGHTS_DIR / "mosaic_blocknet_v1.pt"
FORMAT_VERSION = 1
MIN_PROBABILITY = 0.5  # a block is in a region above this


def build_net(channels: int, width: int) -> Any:
    """Five 3x3 convolutions, dilated 1-2-4-8 (a receptive field of 31 blocks, about
    500 px: a region's whole edge and its surround), then one logit per block."""
    from torch import nn

    layers: list[Any] = []
    c = channels
    for dilation in (1, 2, 4, 8):
        layers += [nn.Conv2d(c, width, 3, padding=dilation, dilation=dilation), nn.ReLU()]
        c = width
    layers.append(nn.Conv2d(width, 1, 1))
    return nn.Sequential(*layers)


@dataclass(frozen=True)
class LearnedModel:
    net: Any
    mean: np.ndarray  # per channel, to standardise the features
    std: np.ndarray
    rule: RegionRule  # how the block map becomes scored regions
    meta: dict[str, Any]


def save_model(path: Path, net: Any, mean: np.ndarray, std: np.ndarray, rule: RegionRule,
               width: int, meta: dict[str, Any]) -> None:
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"format": FORMAT_VERSION, "channels": list(CHANNELS), "width": width,
                "state_dict": {k: v.detach().cpu() for k, v in net.state_dict().items()},
                "mean": torch.from_numpy(mean), "std": torch.from_numpy(std),
                "rule": rule.as_dict(), "meta": meta}, path)


@lru_cache(maxsize=4)
def load_model(path: str | None = None) -> LearnedModel:
    """The weights at ``path`` (the packaged ones by default), loaded once a process."""
    import torch

    file = Path(path) if path else DEFAULT_WEIGHTS
    if not file.is_file():
        raise FileNotFoundError(f"mosaic weights not found: {file} (python -m filters.train_mosaic"
                                " writes them)")
    blob = torch.load(file, map_location="cpu", weights_only=True)
    if blob.get("format") != FORMAT_VERSION or list(blob["channels"]) != list(CHANNELS):
        raise ValueError(f"{file}: weights for other features (format {blob.get('format')}, "
                         f"channels {blob.get('channels')}); retrain with filters.train_mosaic")
    net = build_net(len(CHANNELS), int(blob["width"]))
    net.load_state_dict(blob["state_dict"])
    net.eval()
    return LearnedModel(net, blob["mean"].numpy(), blob["std"].numpy(),
                        RegionRule(**blob["rule"]), dict(blob["meta"]))


def features_of(image: Image.Image) -> np.ndarray:
    """The block features of an image (any mode) at its working size (16-px blocks)."""
    plane, factor = working_plane(image)
    return block_features(plane, BLOCK // factor)


def probability_map(model: LearnedModel, image: Image.Image) -> np.ndarray:
    """Per 16-px block, the probability that it is in a pasted region."""
    return probability_of(model, features_of(image))


def probability_of(model: LearnedModel, feats: np.ndarray) -> np.ndarray:
    """``probability_map`` from the block features."""
    import torch

    if min(feats.shape[1:], default=0) < 2:
        return np.zeros(feats.shape[1:], np.float32)
    x = (feats - model.mean[:, None, None]) / model.std[:, None, None]
    if torch.get_num_threads() != 1:
        torch.set_num_threads(1)  # one filter task, one CPU: more threads only spin
    with torch.inference_mode():
        logits = model.net(torch.from_numpy(np.ascontiguousarray(x))[None])[0, 0]
    return torch.sigmoid(logits).numpy()


@dataclass(frozen=True)
class RegionRule:
    """How the block map becomes scored regions (chosen with the weights, on the
    calibration families' validation draw): blocks of probability ``member`` or more
    form regions; a region's evidence is its count of blocks at ``confident`` or more,
    over (the map's blocks / 1000) ** ``size_power`` (a region of a given share of the
    image has more blocks in a larger image); score = evidence / ``evidence``."""

    member: float = MIN_PROBABILITY
    confident: float = 0.9
    size_power: float = 0.5
    evidence: float = 1.0

    def as_dict(self) -> dict[str, float]:
        return {"member": self.member, "confident": self.confident,
                "size_power": self.size_power, "evidence": self.evidence}


def regions(prob: np.ndarray, rule: RegionRule, limit: int = 8
            ) -> list[tuple[float, tuple[int, int, int, int]]]:
    """(score, full-res box) of each connected group of member blocks, best first."""
    mask = prob >= rule.member
    if not mask.any():
        return []
    labels, _ = ndimage.label(mask, structure=np.ones((3, 3)))
    scale = rule.evidence * (prob.size / 1000) ** rule.size_power
    found = []
    for idx, sl in enumerate(ndimage.find_objects(labels), start=1):
        inside = prob[sl][labels[sl] == idx]
        count = float(np.count_nonzero(inside >= rule.confident))
        box = (sl[0].start * BLOCK, sl[1].start * BLOCK, sl[0].stop * BLOCK, sl[1].stop * BLOCK)
        found.append((count / scale, box))
    found.sort(key=lambda item: -item[0])
    return found[:limit]


def learned_regions(image: Image.Image, model: LearnedModel
                    ) -> list[tuple[float, tuple[int, int, int, int]]]:
    return regions(probability_map(model, image), model.rule)
