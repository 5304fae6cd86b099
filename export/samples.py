"""One exported sample: its key, original image bytes, training text and metadata.

``SAMPLE_SCHEMA`` is the single definition of the exported fields: the Parquet
columns, and (nested by ``json_record``) the webdataset ``key.json``. The card prints
it from here, so docs and files cannot drift apart.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from export.mixing import Choice
from paraimage.manifest import CAPTION_VARIANT_TYPE

_FIELDS: list[tuple[pa.Field, str]] = [
    (pa.field("id", pa.string(), nullable=False),
     "stable id of (source, source_key); the webdataset key"),
    (pa.field("image", pa.binary(), nullable=False),
     "original image bytes, never re-encoded (webdataset: `key.<image_ext>`)"),
    (pa.field("image_ext", pa.string(), nullable=False), "extension of the original format"),
    (pa.field("text", pa.string(), nullable=False),
     "the training caption chosen by the mix (webdataset: `key.txt`)"),
    (pa.field("text_variant", pa.string(), nullable=False),
     "which variant `text` is: caption, caption_short, caption_raw, alt_text or "
     "variant:<label> (an entry of `caption_variants`)"),
    (pa.field("caption", pa.string()), "the VLM's long caption after QA cleaning"),
    (pa.field("caption_short", pa.string()),
     "first sentence of `caption` (derived at export)"),
    (pa.field("caption_raw", pa.string()), "the VLM's text as generated"),
    (pa.field("alt_text", pa.string()), "the source's own caption (LAION/COYO alt-text, ...)"),
    (pa.field("caption_model", pa.string()), "captioner: hub id or path"),
    (pa.field("caption_prompt", pa.string()), "instruction given to the captioner"),
    (pa.field("caption_length_target", pa.int32()), "target words of the prompt"),
    (pa.field("caption_params", pa.string()), "sampling parameters (JSON)"),
    (pa.field("caption_finish_reason", pa.string()), "`stop`, or `length` when cut"),
    (pa.field("caption_flags", pa.list_(pa.string())), "caption QA flags"),
    (pa.field("caption_variants", pa.list_(CAPTION_VARIANT_TYPE)),
     "every caption of the image (other lengths, prompts, captioners): captioner, "
     "variant, model, prompt, target_words, params, status, caption, flags, n_words, ..."),
    (pa.field("n_words", pa.int32()), "words of `caption`"),
    (pa.field("n_clip_tokens", pa.int32()), "CLIP BPE tokens of `caption`, with start/end"),
    (pa.field("alt_n_words", pa.int32()), "words of `alt_text`"),
    (pa.field("width", pa.int32()), "pixels"),
    (pa.field("height", pa.int32()), "pixels"),
    (pa.field("format", pa.string()), "PIL format of the original bytes"),
    (pa.field("n_bytes", pa.int64()), "size of the original bytes"),
    (pa.field("sha256", pa.string()),
     "of the original bytes (checked at export with `--verify sha256`)"),
    (pa.field("aesthetic_score", pa.float32()), "LAION aesthetic score used by the filter"),
    (pa.field("aesthetic_source", pa.string()), "`source` (metadata) or `computed`"),
    (pa.field("source_aesthetic", pa.float32()), "the source metadata's own score"),
    (pa.field("source", pa.string(), nullable=False), "source name in the run config"),
    (pa.field("source_key", pa.string(), nullable=False), "URL or file name in the source"),
    (pa.field("url", pa.string()), "where a downloaded image came from"),
]
SAMPLE_SCHEMA = pa.schema([f for f, _ in _FIELDS])
FIELD_DOCS = {f.name: doc for f, doc in _FIELDS}
# Manifest columns copied unchanged into the sample.
_COPIED = [f.name for f, _ in _FIELDS if f.name not in (
    "image", "image_ext", "text", "text_variant", "caption_short", "caption_length_target",
)]
_JSON_FLOAT_DIGITS = 6  # float32 scores: digits past this are conversion noise
_JSON_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


@functools.lru_cache(maxsize=256)
def _parsed_params(text: str | None) -> dict[str, Any] | None:
    """Sampling parameters (JSON text): a run has a handful of distinct ones, so parse
    each once; the dict is shared and only ever read (encoded)."""
    return json.loads(text) if text else None


@dataclass(frozen=True)
class ExportSample:
    key: str
    image: bytes
    image_ext: str
    text: str
    fields: dict[str, Any]  # every SAMPLE_SCHEMA column but `image`

    def json_record(self) -> dict[str, Any]:
        """``key.json``: identity and image fields flat, the text variants nested."""
        f = self.fields
        params = f["caption_params"]
        # Every variant is always present (text null when the row has none), so all
        # samples share one JSON layout and typed loaders infer one schema.
        captions: dict[str, dict[str, Any]] = {
            "caption": {
                "text": f["caption"], "model": f["caption_model"], "prompt": f["caption_prompt"],
                "length_target_words": f["caption_length_target"],
                "params": _parsed_params(params),
                "finish_reason": f["caption_finish_reason"], "flags": f["caption_flags"],
                "n_words": f["n_words"], "n_clip_tokens": f["n_clip_tokens"],
            },
            "caption_short": {"text": f["caption_short"], "derived_from": "caption"},
            "caption_raw": {"text": f["caption_raw"], "model": f["caption_model"]},
            "alt_text": {"text": f["alt_text"], "n_words": f["alt_n_words"]},
        }
        record = {
            name: f[name] for name in (
                "id", "source", "source_key", "url", "sha256", "width", "height", "format",
                "n_bytes", "image_ext", "aesthetic_score", "aesthetic_source",
                "source_aesthetic", "text_variant",
            )
        }
        for name in ("aesthetic_score", "source_aesthetic"):
            if record[name] is not None:
                record[name] = round(record[name], _JSON_FLOAT_DIGITS)
        record["captions"] = captions
        record["caption_variants"] = [
            {**entry, "params": _parsed_params(entry["params"])}
            for entry in f["caption_variants"] or ()
        ]
        return record

    def json_bytes(self) -> bytes:
        # The record is built in a fixed key order (params keep the manifest's sorted
        # order) and written with fixed separators: the same sample, the same bytes.
        # Not sort_keys: it costs a third of the encoding, per sample.
        return _JSON_ENCODER.encode(self.json_record()).encode()

    def parquet_row(self) -> dict[str, Any]:
        return {**self.fields, "image": self.image}


def build_sample(
    row: dict[str, Any], image: bytes, image_ext: str, choice: Choice,
    texts: dict[str, str | None], target_words: int | None,
) -> ExportSample:
    if choice.text is None or choice.used is None:
        raise ValueError(f"sample {row['id']} has no text to export")
    fields = {name: row.get(name) for name in _COPIED}
    fields.update(
        image_ext=image_ext, text=choice.text, text_variant=choice.used,
        caption_short=texts["caption_short"],
        caption_length_target=target_words if row.get("caption") is not None else None,
    )
    return ExportSample(key=row["id"], image=image, image_ext=image_ext, text=choice.text,
                        fields=fields)
