"""A small finished run built without the pipeline: real image files, manifests written
by the pipeline's own writer, and the run folder layout ``RunDir`` produces."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from PIL import Image

from export import ExportOptions
from paraimage.manifest import SCHEMA_VERSION, record_id
from paraimage.shard_writer import write_manifest

RUN_ID = "small-0123456789ab"
FINGERPRINT = "0123456789ab"
TARGET_WORDS = 120
PROMPT = "Provide a detailed description of the image using approximately {n_words} words."
MODEL = "llava-hf/llava-interleave-qwen-0.5b-hf"
PARAMS = json.dumps({"max_tokens": 224, "repetition_penalty": 1.0, "seed": 0,
                     "temperature": 0.0, "top_p": 1.0}, sort_keys=True)
SENTENCES = [
    "A woman in a white spacesuit stands before an American flag.",
    "She holds a helmet under her left arm and smiles toward the camera.",
    "Behind her a model of a spacecraft rests on a grey stand.",
    "Soft light from the left falls across the scene.",
]


def photo(seed: int, width: int, height: int) -> np.ndarray:
    """A small real photograph crop (skimage ships them), varied by seed."""
    import skimage.data

    names = ["astronaut", "coffee", "chelsea", "rocket"]
    image = getattr(skimage.data, names[seed % len(names)])()
    top, left = 7 * seed % 60, 11 * seed % 60
    return np.ascontiguousarray(image[top : top + height, left : left + width])


def encode(array: np.ndarray, fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt, **({"quality": 85} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def caption_text(seed: int) -> str:
    return " ".join(SENTENCES[seed % 4 :] + SENTENCES[: seed % 4])


@dataclass
class SmallRun:
    root: Path
    rows: list[dict[str, Any]]
    images: dict[str, bytes] = field(default_factory=dict)  # id -> original bytes

    def row(self, source_key: str) -> dict[str, Any]:
        return next(row for row in self.rows if row["source_key"] == source_key)

    @property
    def default_ids(self) -> list[str]:
        """Ids the default selection exports: kept, caption without a quality flag."""
        quality = {"truncated", "repetitive", "refusal", "prompt_leak", "off_length",
                   "non_english", "empty"}
        return sorted(
            row["id"] for row in self.rows
            if row["status"] == "kept" and row.get("caption")
            and not quality & set(row.get("caption_flags") or [])
        )

    def options(self, out: Path, **overrides: Any) -> ExportOptions:
        return ExportOptions(run_dir=self.root, out=out, **{"format": "webdataset", **overrides})


def _row(source: str, key: str, shard_id: str, **columns: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": record_id(source, key), "source": source, "source_key": key,
        "shard_id": shard_id, "run_id": RUN_ID, "schema_version": SCHEMA_VERSION,
        "status": "kept",
    }
    row.update(columns)
    return row


def variant_entry(captioner: str, variant: str, model: str, target_words: int,
                  caption: str | None, status: str = "ok") -> dict[str, Any]:
    """One `caption_variants` entry, as captioners/base.py writes it."""
    return {
        "captioner": captioner, "variant": variant, "model": model,
        "prompt": PROMPT.format(n_words=target_words), "target_words": target_words,
        "params": PARAMS, "status": status,
        "reason": "caption_repetitive" if status == "rejected" else None,
        "caption": caption, "caption_raw": caption, "finish_reason": "stop",
        "flags": ["repetitive"] if status == "rejected" else [], "n_tokens": 30,
        "n_words": len(caption.split()) if caption else 0,
    }


def _variants(seed: int, caption: str) -> list[dict[str, Any]]:
    """The main caption, a 20-word variant (rejected by QA for seed 5) and, for even
    seeds, a second captioner's caption."""
    entries = [
        variant_entry(MODEL, f"{TARGET_WORDS}w", MODEL, TARGET_WORDS, caption),
        variant_entry(MODEL, "20w", MODEL, 20, f"Short caption number {seed}.",
                      status="rejected" if seed == 5 else "ok"),
    ]
    if seed % 2 == 0:
        entries.append(variant_entry("cogvlm", f"{TARGET_WORDS}w", "THUDM/cogvlm-chat-hf",
                                     TARGET_WORDS, f"CogVLM describes image {seed}."))
    return entries


def _kept(row: dict[str, Any], data: bytes, fmt: str, seed: int, ref: str,
          alt_text: str | None = "a photo", flags: list[str] | None = None) -> dict[str, Any]:
    caption = caption_text(seed)
    image = Image.open(io.BytesIO(data))
    row.update(
        image_ref=ref, sha256=hashlib.sha256(data).hexdigest(), width=image.width,
        height=image.height, short_edge=min(image.size), format=fmt, mode=image.mode,
        n_bytes=len(data), alt_text=alt_text, aesthetic_score=5.5 + seed / 10,
        aesthetic_source="computed", caption=caption, caption_raw=f"The image shows {caption}",
        caption_model=MODEL, caption_prompt=PROMPT.format(n_words=TARGET_WORDS),
        caption_params=PARAMS, caption_finish_reason="stop",
        caption_flags=["prefix_stripped", *(flags or [])], caption_n_tokens=80,
        caption_variants=_variants(seed, caption),
        n_words=len(caption.split()), n_nouns=12, n_adj_adv=5, n_prep=6, n_clip_tokens=70,
        n_sentences=4, nouns=["woman", "spacesuit", "flag", "helmet"],
        alt_n_words=len(alt_text.split()) if alt_text else None,
        alt_n_nouns=1 if alt_text else None, alt_n_adj_adv=0 if alt_text else None,
        alt_n_prep=0 if alt_text else None, alt_n_clip_tokens=4 if alt_text else None,
        alt_n_sentences=1 if alt_text else None, alt_nouns=["photo"] if alt_text else None,
    )
    return row


def build_small_run(root: Path, n_laion: int = 8) -> SmallRun:
    """A run of two sources: ``laion`` (JPEG/PNG files) and ``sa1b`` (members of a tar).

    laion: n_laion kept JPEGs (one without alt-text), one kept PNG, one kept with a
    `repetitive` flag, one rejected, one error without an image. sa1b: 3 kept members.
    """
    images_dir = root.parent / f"{root.name}-images"
    images_dir.mkdir(parents=True)
    rows: list[dict[str, Any]] = []
    images: dict[str, bytes] = {}
    for i in range(n_laion):
        data = encode(photo(i, 40 + i, 32 + i), "JPEG")
        path = images_dir / f"laion_{i:03d}.jpg"
        path.write_bytes(data)
        row = _row("laion", f"https://example.invalid/{i:03d}.jpg", "laion-00000")
        rows.append(_kept(row, data, "JPEG", i, f"file:{path}",
                          alt_text=None if i == 3 else f"alt text number {i}"))
        images[row["id"]] = data
    png = encode(photo(9, 36, 30), "PNG")
    (images_dir / "laion_png.png").write_bytes(png)
    row = _row("laion", "https://example.invalid/png.png", "laion-00001")
    rows.append(_kept(row, png, "PNG", 9, f"file:{images_dir / 'laion_png.png'}"))
    images[row["id"]] = png
    flagged = encode(photo(10, 30, 30), "JPEG")
    (images_dir / "flagged.jpg").write_bytes(flagged)
    row = _row("laion", "https://example.invalid/flagged.jpg", "laion-00001")
    rows.append(_kept(row, flagged, "JPEG", 10, f"file:{images_dir / 'flagged.jpg'}",
                      flags=["repetitive"]))
    rows.append(_row("laion", "https://example.invalid/small.jpg", "laion-00001",
                     status="rejected", reject_reason="resolution_short_edge",
                     image_ref=f"file:{images_dir / 'laion_000.jpg'}", width=10, height=10))
    rows.append(_row("laion", "https://example.invalid/404.jpg", "laion-00001",
                     status="error", error="read_failed: 404"))
    tar_path = images_dir / "sa_000000.tar"
    with tarfile.open(tar_path, "w") as tar:
        for j in range(3):
            data = encode(photo(20 + j, 48, 36), "JPEG")
            info = tarfile.TarInfo(f"sa_{j}.jpg")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
            row = _row("sa1b", f"sa_{j}.jpg", "sa1b-00000")
            rows.append(_kept(row, data, "JPEG", 20 + j, f"tar:{tar_path}#sa_{j}.jpg",
                              alt_text=None))
            images[row["id"]] = data
    write_run_dir(root, rows)
    return SmallRun(root=root, rows=rows, images=images)


def write_run_dir(root: Path, rows: list[dict[str, Any]]) -> None:
    """Manifests per shard, plus config.yaml / plan.json / run.json as RunDir writes them."""
    (root / "manifests").mkdir(parents=True)
    shards: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        shards.setdefault(row["shard_id"], []).append(row)
    for shard_id, shard_rows in sorted(shards.items()):
        write_manifest(root / "manifests" / f"{shard_id}.parquet", shard_rows)
    config = {
        "run": {"name": "small", "output_dir": str(root.parent)},
        "sources": [
            {"kind": "laion", "name": "laion", "path": "/data/laion-aesthetics/*.parquet",
             "prefilter": {"min_aesthetic": 5.0, "min_short_edge": 16, "max_punsafe": None}},
            {"kind": "sa1b", "name": "sa1b", "paths": ["/data/sa1b/sa_000000.tar"]},
        ],
        "decode": {"max_pixels": 89478485},
        "filters": {
            "resolution": {"mode": "on", "min_short_edge": 16, "max_aspect_ratio": 3.0},
            "watermark": None, "nsfw": None,
            "mosaic": {"mode": "score_only", "threshold": 1.0, "pixelation": True,
                       "blur": True, "tile": 64},
            "dedup": {"mode": "on", "max_hamming": 6},
            "aesthetic": {"mode": "on", "threshold": 5.0, "clip_model": "ViT-L-14",
                          "recompute": False},
        },
        "captioner": {"backend": "vllm", "model": MODEL, "prompt": PROMPT,
                      "target_words": TARGET_WORDS,
                      "sampling": {"temperature": 0.0, "top_p": 1.0, "seed": 0},
                      "qa": {"policies": {"refusal": "reject"}}},
    }
    (root / "config.yaml").write_text(
        yaml.safe_dump({"fingerprint": FINGERPRINT, "config": config}, sort_keys=False))
    plan = {"shards": [{"shard_id": s, "n_records": len(r)} for s, r in sorted(shards.items())]}
    (root / "plan.json").write_text(json.dumps(plan, indent=1))
    record = {"run_id": RUN_ID, "invocations": [{
        "started": "2026-01-02T03:04:05+00:00", "git_commit": "abc123",
        "package_versions": {"paraimage": "0.1.0", "duckdb": "2.0.0"},
    }]}
    (root / "run.json").write_text(json.dumps(record, indent=1))
