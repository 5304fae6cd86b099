"""Builders shared by the stats tests: manifest rows, manifest files, run folders."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from paraimage.manifest import SCHEMA_VERSION, record_id, to_table

NOUN_POOL = [
    "dog", "cat", "table", "tree", "lake", "sky", "car", "house", "flower", "window",
    "chair", "road", "mountain", "river", "bird", "boat",
]
WORD_POOL = [
    "a", "red", "dog", "on", "the", "table,", "Table", "near", "window.", "(sky)", "café,",
    "Ünïcode", "snake_case", "\u00a0",
]


def manifest_row(source: str = "laion", key: str = "0", **columns: Any) -> dict[str, Any]:
    """A valid manifest row; ``columns`` override or add manifest columns."""
    row: dict[str, Any] = {
        "id": record_id(source, key),
        "source": source,
        "source_key": key,
        "shard_id": "shard-0",
        "run_id": "run-test",
        "schema_version": SCHEMA_VERSION,
        "status": "kept",
    }
    row.update(columns)
    return row


def write_manifest(path: Path, rows: list[dict[str, Any]], **kwargs: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(to_table(rows), path, **kwargs)
    return path


def random_rows(seed: int, n: int, source: str) -> list[dict[str, Any]]:
    """Rows with made-up (not spaCy-computed) statistics: tables are tested against an
    independent computation over these same values."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        status = rng.choice(["kept"] * 6 + ["rejected", "error"])
        kept = status == "kept"
        row = manifest_row(
            source, f"{seed}-{i}",
            status=status,
            reject_reason=rng.choice(["aesthetic_low_score", "resolution_too_small"])
            if status == "rejected" else None,
            error="decode failed: truncated file\ntraceback ..." if status == "error" else None,
            short_edge=rng.choice([None, rng.randint(256, 2048)]),
            alt_text=" ".join(rng.choices(WORD_POOL, k=rng.randint(0, 12))),
        )
        for prefix, max_words in (("", 260), ("alt_", 40)):
            has_text = kept if prefix == "" else rng.random() > 0.1
            if not has_text:
                if prefix == "alt_":
                    row["alt_text"] = None  # no text, no statistics: nothing is missing
                continue
            words = rng.randint(0, max_words)
            row.update({
                f"{prefix}n_words": words,
                f"{prefix}n_nouns": rng.randint(0, words // 2 + 1),
                f"{prefix}n_adj_adv": rng.randint(0, words // 4 + 1),
                f"{prefix}n_prep": rng.randint(0, words // 5 + 1),
                f"{prefix}n_clip_tokens": words + rng.randint(2, 30),
                f"{prefix}n_sentences": rng.randint(0, 8),
                f"{prefix}nouns": rng.sample(NOUN_POOL, rng.randint(0, 8)),
            })
        if kept:
            row["caption_model"] = rng.choice(["cogvlm", "llava", None])
            row["caption"] = " ".join(rng.choices(WORD_POOL, k=rng.randint(0, 30)))
        rows.append(row)
    return rows


def make_run(run_dir: Path, shards: dict[str, list[dict[str, Any]]]) -> Path:
    for name, rows in shards.items():
        write_manifest(run_dir / "manifests" / f"{name}.parquet", rows)
    (run_dir / "run.json").write_text('{"run_id": "run-test"}')
    return run_dir
