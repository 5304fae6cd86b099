"""Where the captioning model comes from: a local path, the hub, or the offline stand-in.

Resolved once on the driver, before any shard is processed, so a wrong model name or
an unreachable hub stops the run with exit code 2 instead of failing in every actor.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from captioners.config import TINY_MODEL_NAME, CaptionerConfig, looks_like_local_path
from paraimage.errors import UserError

HUB_TIMEOUT_S = 10.0


class ModelUnavailableError(UserError, RuntimeError):
    """The configured model can be neither found locally nor fetched."""


@dataclass(frozen=True)
class ResolvedModel:
    path: str  # what the engine loads: a local directory or a hub id
    name: str  # what ``caption_model`` records
    note: str | None = None  # one line for the user when we substituted something


def default_cache_dir() -> Path:
    return Path(os.environ.get("PARAIMAGE_CACHE", Path.home() / ".cache" / "paraimage"))


def _hub_status(model: str) -> str:
    """'ok', 'missing' (no such repo / no access) or 'unreachable'."""
    if os.environ.get("HF_HUB_OFFLINE") in ("1", "true", "True"):
        return "unreachable"
    try:
        from huggingface_hub import model_info
        from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError
    except ImportError:
        return "unreachable"
    try:
        model_info(model, timeout=HUB_TIMEOUT_S)
    except (RepositoryNotFoundError, GatedRepoError):
        return "missing"
    except Exception:  # noqa: BLE001 - DNS, TLS, timeouts, proxies: all mean "no hub"
        return "unreachable"
    return "ok"


def _cached_snapshot(model: str) -> str | None:
    try:
        from huggingface_hub import snapshot_download

        return snapshot_download(model, local_files_only=True)
    except Exception:  # noqa: BLE001 - not in the local cache
        return None


def resolve_model(config: CaptionerConfig, cache_dir: Path | None = None) -> ResolvedModel:
    if looks_like_local_path(config.model):
        path = Path(config.model).expanduser().resolve()
        if not (path / "config.json").is_file():
            raise ModelUnavailableError(f"captioner.model: {path} has no config.json")
        return ResolvedModel(str(path), config.model)
    status = _hub_status(config.model)
    if status == "ok":
        return ResolvedModel(config.model, config.model)
    if status == "missing":
        raise ModelUnavailableError(
            f"captioner.model: {config.model!r} does not exist on the Hugging Face hub "
            "or needs an access token (HF_TOKEN)"
        )
    cached = _cached_snapshot(config.model)
    if cached:
        return ResolvedModel(cached, config.model, f"hub unreachable: using cached {config.model}")
    if config.offline_fallback == TINY_MODEL_NAME:
        from captioners.tiny_llava import build_tiny_llava

        path = build_tiny_llava((cache_dir or default_cache_dir()) / TINY_MODEL_NAME)
        return ResolvedModel(
            str(path),
            f"{TINY_MODEL_NAME} (offline stand-in for {config.model})",
            f"Hugging Face hub unreachable and {config.model} not cached: captioning with "
            f"the locally built {TINY_MODEL_NAME} (random weights, noise text)",
        )
    raise ModelUnavailableError(
        f"captioner.model: cannot reach the Hugging Face hub for {config.model!r} and it is "
        "not in the local cache; pass a local path or set captioner.offline_fallback"
    )


def model_image_size(model_path: str, trust_remote_code: bool = False) -> int:
    """The input short edge the model's image processor works at (336 for LLaVA-1.5)."""
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(model_path, trust_remote_code=trust_remote_code)
    image_processor = getattr(processor, "image_processor", processor)
    for attribute in ("crop_size", "size"):
        size = getattr(image_processor, attribute, None)
        if not size:
            continue
        if isinstance(size, int):
            return size
        size = dict(size)
        for key in ("shortest_edge", "height", "longest_edge"):
            if size.get(key):
                return int(size[key])
    raise ModelUnavailableError(f"cannot tell the input image size of {model_path}")


# Remote servers resize with their own processor; this only bounds upload size.
REMOTE_IMAGE_SIZE = 768


def prepare_captioner(config: CaptionerConfig) -> tuple[ResolvedModel, int]:
    """The model to load and the short edge to resize to, checked before any work.

    Raises ``ModelUnavailableError`` (or the OpenAI backend's ``ServerUnavailableError``)
    with a message naming the config key.
    """
    if config.backend == "openai":
        from captioners.openai_backend import check_server

        check_server(config)
        return ResolvedModel(config.model, config.model), config.image_size or REMOTE_IMAGE_SIZE
    model = resolve_model(config)
    if config.image_size:
        return model, config.image_size
    if getattr(config, "chat_api", "processor") != "processor":
        from captioners.cogvlm_chat import cogvlm_image_size, uses_cogvlm_interface

        if config.chat_api == "cogvlm" or uses_cogvlm_interface(model.path):
            size = cogvlm_image_size(model.path)
            if size is None:
                raise ModelUnavailableError(
                    f"cannot tell the input image size of {model.path}: set "
                    "captioner.image_size"
                )
            return model, size
    return model, model_image_size(model.path, config.trust_remote_code)
