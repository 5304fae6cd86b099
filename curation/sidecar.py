"""Per-image metadata files next to an image (``key.json`` / ``key.txt``).

img2dataset and webdataset shards store a sample's metadata as ``key.json`` and its
alt-text as ``key.txt``; local folders may do the same. Known LAION field spellings are
normalised to manifest columns (v1 ``aesthetic``, v2 ``AESTHETIC_SCORE``, ``TEXT``).
"""

from __future__ import annotations

import json
import math
from typing import Any

SIDECAR_EXTENSIONS = frozenset({"json", "txt"})

ERROR_MALFORMED_JSON = "sidecar_malformed_json"

# manifest column -> accepted spellings, first match wins
_FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "alt_text": ("caption", "TEXT", "text", "alt_text"),
    "source_aesthetic": ("AESTHETIC_SCORE", "aesthetic", "aesthetic_score"),
    "punsafe": ("punsafe", "pUNSAFE"),
    "pwatermark": ("pwatermark", "pWATERMARK"),
}


class SidecarError(ValueError):
    pass


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def parse_json_sidecar(data: bytes) -> dict[str, Any]:
    """Manifest columns from a JSON sidecar; raises ``SidecarError`` when malformed."""
    try:
        payload = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SidecarError(f"{ERROR_MALFORMED_JSON}: {exc}") from exc
    if not isinstance(payload, dict):
        raise SidecarError(f"{ERROR_MALFORMED_JSON}: top level is {type(payload).__name__}")
    columns: dict[str, Any] = {}
    for column, aliases in _FIELD_ALIASES.items():
        for alias in aliases:
            if payload.get(alias) is not None:
                value = payload[alias]
                columns[column] = str(value) if column == "alt_text" else _number(value)
                break
    return columns


def parse_txt_sidecar(data: bytes) -> dict[str, Any]:
    return {"alt_text": data.decode("utf-8", errors="replace").strip()}


def parse_sidecars(files: dict[str, bytes]) -> dict[str, Any]:
    """Merge a sample's sidecars (extension -> bytes); ``.txt`` wins for alt-text."""
    columns: dict[str, Any] = {}
    if "json" in files:
        columns.update(parse_json_sidecar(files["json"]))
    if "txt" in files:
        columns.update(parse_txt_sidecar(files["txt"]))
    return columns
