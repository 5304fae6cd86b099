"""A sampled manifest row as the report shows it: thumbnail, captions side by side,
QA flags, scores, and the filter keys (source, captioners, flags, reason)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workflows.runview.thumbnails import Thumbnail

# what the report says about a mosaic row's region, by where it came from (regions.py)
MOSAIC_NOTES = {
    "redetected": "region detected again for this report (filters.mosaic with the settings of the "
                  "run; the manifest stores only mosaic_score)",
    "none": "detected again for this report: no region found",
    "failed": "the image could not be read again: no region drawn",
    None: "the manifest stores no region for mosaic detections: none is drawn",
}


@dataclass
class Card:
    id: str
    status: str
    source: str
    source_key: str
    reason: str
    thumb: Thumbnail
    flags: list[str]
    captioners: list[str]
    variants: list[dict[str, Any]]
    scores: list[tuple[str, str]]
    alt_text: str | None
    detail: str | None = None  # the full error message, the duplicate's twin
    box: dict[str, float] | None = None  # CSS percentages of the mosaic region
    notes: list[str] = field(default_factory=list)


def _fmt(value: Any, digits: int = 2) -> str:
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _scores(row: dict[str, Any]) -> list[tuple[str, str]]:
    scores = []
    if row.get("aesthetic_score") is not None:
        origin = f" ({row['aesthetic_source']})" if row.get("aesthetic_source") else ""
        scores.append(("aesthetic_score", _fmt(row["aesthetic_score"]) + origin))
    elif row.get("source_aesthetic") is not None:
        scores.append(("source_aesthetic", _fmt(row["source_aesthetic"])))
    if row.get("mosaic_score") is not None:
        detected = " (detected)" if row.get("mosaic_detected") else ""
        scores.append(("mosaic_score", _fmt(row["mosaic_score"], 3) + detected))
    if row.get("width") is not None and row.get("height") is not None:
        scores.append(("size", f"{row['width']}x{row['height']}"))
    if row.get("short_edge") is not None:
        scores.append(("short_edge", str(row["short_edge"])))
    for name in ("punsafe", "pwatermark"):
        if row.get(name) is not None:
            scores.append((name, _fmt(row[name], 3)))
    for name in ("caption_n_tokens", "n_words"):
        if row.get(name) is not None:
            scores.append((name, str(row[name])))
    return scores


def _box(row: dict[str, Any]) -> dict[str, float] | None:
    """(y0, x0, y1, x1) full-resolution pixels as percentages of the image."""
    box, width, height = row.get("mosaic_box"), row.get("width"), row.get("height")
    if not box or len(box) != 4 or not width or not height:
        return None
    y0, x0, y1, x1 = (float(v) for v in box)
    return {"left": 100 * x0 / width, "top": 100 * y0 / height,
            "width": 100 * (x1 - x0) / width, "height": 100 * (y1 - y0) / height}


def build_card(row: dict[str, Any], thumb: Thumbnail) -> Card:
    variants = [dict(v) for v in row.get("caption_variants") or []]
    if not variants and row.get("caption") is not None:
        variants = [{"captioner": row.get("caption_model"), "variant": None,
                     "model": row.get("caption_model"), "status": "ok",
                     "caption": row["caption"], "flags": row.get("caption_flags") or [],
                     "n_words": row.get("n_words"), "n_tokens": row.get("caption_n_tokens"),
                     "finish_reason": row.get("caption_finish_reason")}]
    flags = list(dict.fromkeys(
        [*(row.get("caption_flags") or []), *(f for v in variants for f in v.get("flags") or [])]
    ))
    captioners = sorted({str(v["captioner"]) for v in variants if v.get("captioner")})
    reason = row.get("reject_reason") or ""
    detail = None
    if row["status"] == "error":
        error = row.get("error") or ""
        reason, detail = error.split(":", 1)[0], error
    elif row.get("duplicate_of"):
        detail = f"duplicate of {row['duplicate_of']}"
    box = _box(row)
    notes = []
    origin = row.get("mosaic_box_origin")
    if origin != "manifest" and (reason.startswith("mosaic") or row.get("mosaic_detected")):
        notes.append(MOSAIC_NOTES.get(origin, MOSAIC_NOTES[None]))
    if thumb.problem:
        notes.append(f"no thumbnail: {thumb.problem}")
    return Card(
        id=row["id"], status=row["status"], source=row["source"],
        source_key=row["source_key"], reason=reason, thumb=thumb, flags=flags,
        captioners=captioners, variants=variants, scores=_scores(row),
        alt_text=row.get("alt_text"), detail=detail, box=box, notes=notes,
    )
