"""A small recaption run made from photographs that ship with scikit-image, so the
whole workflow can be tried (and screenshotted) without a real run.

Writes ``OUT/images/*.jpg`` and ``OUT/manifests/00000.parquet`` in the manifest schema,
with one row per (image, captioner) like a run with several captioners.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
from PIL import Image

from curation.image_ref import file_ref
from paraimage.manifest import record_id, to_table

DEMO_IMAGES = (
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "hubble_deep_field",
    "immunohistochemistry",
    "retina",
    "coins",
    "camera",
    "moon",
)
DEMO_CAPTIONERS = ("cogvlm", "llava", "minigpt4")
# Stand-in aesthetic scores so the import query has something to filter on.
DEMO_AESTHETIC = dict(
    zip(DEMO_IMAGES, (6.9, 6.7, 6.8, 6.6, 6.5, 5.2, 6.1, 5.9, 6.55, 5.0), strict=True)
)


# Stand-in captions of different length and care per captioner. They never name the
# model: the caption-quality study shows them blind.
_CAPTION_STYLES = {
    "cogvlm": "A detailed photograph of {subject}, {width} by {height} pixels, with the main "
    "subject in the centre and a plain background around it.",
    "llava": "An image showing {subject}.",
    "minigpt4": "A picture of {subject} next to a red car under a cloudy sky with birds.",
}


def _caption(model: str, name: str, width: int, height: int) -> str:
    style = _CAPTION_STYLES.get(model, "A photo of {subject}.")
    return style.format(subject=name.replace("_", " "), width=width, height=height)


def write_demo_run(out: Path) -> Path:
    from skimage import data as skdata  # a dev dependency: imported only here

    images = out / "images"
    images.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in DEMO_IMAGES:
        img = Image.fromarray(getattr(skdata, name)()).convert("RGB")
        path = images / f"{name}.jpg"
        img.save(path, "JPEG", quality=90)
        for model in DEMO_CAPTIONERS:
            rows.append(
                {
                    "id": record_id("skimage", name),
                    "source": "skimage",
                    "source_key": name,
                    "shard_id": "00000",
                    "image_ref": file_ref(path),
                    "run_id": "demo",
                    "schema_version": 1,
                    "width": img.width,
                    "height": img.height,
                    "short_edge": min(img.size),
                    "format": "JPEG",
                    "aesthetic_score": DEMO_AESTHETIC[name],
                    "status": "kept",
                    "caption": _caption(model, name, img.width, img.height),
                    "caption_model": model,
                    "caption_prompt": "Describe the image in detail.",
                }
            )
    (out / "manifests").mkdir(parents=True, exist_ok=True)
    pq.write_table(to_table(rows), out / "manifests" / "00000.parquet")
    return out
