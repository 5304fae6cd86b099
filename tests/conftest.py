"""Shared fixtures: a tiny random-weight LLaVA, real photographs, and an offline env."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

# Tests never reach a model hub, even by accident.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def paraimage_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private PARAIMAGE_CACHE so the offline fallback builds its model here."""
    cache = tmp_path_factory.mktemp("paraimage-cache")
    os.environ["PARAIMAGE_CACHE"] = str(cache)
    return cache


@pytest.fixture(scope="session")
def tiny_llava(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from captioners.tiny_llava import build_tiny_llava

    return build_tiny_llava(tmp_path_factory.mktemp("models") / "tiny-llava")


def jpeg_bytes(array: np.ndarray, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def astronaut_jpeg() -> bytes:
    import skimage.data

    return jpeg_bytes(skimage.data.astronaut())
