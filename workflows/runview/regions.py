"""Mosaic regions for the report. Manifests from schema 3 keep the regions that fired
(``mosaic_boxes``): the best one is drawn as it is. Older manifests keep only
``mosaic_score`` and ``mosaic_detected``, so the report detects the region again on the
few sampled rows that need it (mosaic rejects, and detections kept by ``score_only``)
with the run's own mosaic settings from ``config.yaml``: the same detector, the same
box (``filters.mosaic.detect_mosaic``)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import yaml
from PIL import Image

from curation.image_ref import open_image_ref
from filters.mosaic import MosaicFilterConfig, detect_mosaic
from workflows.runview.thumbnails import MAX_PIXELS

ORIGIN_MANIFEST = "manifest"
ORIGIN_REDETECTED = "redetected"
ORIGIN_NONE = "none"  # detected again, no region found
ORIGIN_FAILED = "failed"  # the image could not be read again


def run_mosaic_config(run_dir: Path) -> MosaicFilterConfig:
    """The run's mosaic settings, or the defaults when the run has none readable."""
    try:
        document = yaml.safe_load((run_dir / "config.yaml").read_text()) or {}
        settings = document["config"]["filters"]["mosaic"]
        if isinstance(settings, dict):
            return MosaicFilterConfig.model_validate(settings)
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError):
        pass
    return MosaicFilterConfig()


def needs_region(row: dict[str, Any]) -> bool:
    return bool((row.get("reject_reason") or "").startswith("mosaic")
                or row.get("mosaic_detected"))


def add_regions(rows: list[dict[str, Any]], config: MosaicFilterConfig) -> None:
    """Set ``mosaic_box`` and ``mosaic_box_origin`` on the rows that need a region."""
    for row in rows:
        if not needs_region(row):
            continue
        if row.get("mosaic_boxes"):
            row["mosaic_box"] = list(row["mosaic_boxes"][0])
        if row.get("mosaic_box"):
            row["mosaic_box_origin"] = ORIGIN_MANIFEST
            continue
        try:
            with Image.open(io.BytesIO(open_image_ref(row["image_ref"]))) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise ValueError("too many pixels")
                image.load()
                box = detect_mosaic(image, config).box
        except Exception:  # noqa: BLE001 - one unreadable image is a note, not a failure
            row["mosaic_box_origin"] = ORIGIN_FAILED
            continue
        row["mosaic_box"] = list(box) if box else None
        row["mosaic_box_origin"] = ORIGIN_REDETECTED if box else ORIGIN_NONE
