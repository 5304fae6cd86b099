"""What an export is asked to do, validated before any work starts.

Everything here changes the bytes of the shards, so the whole object (minus the
paths) is what ``OUT/_export/options.json`` records and a rerun must match.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ByteSize, TypeAdapter, ValidationError

from captioners.qa import QUALITY_FLAGS
from export.mixing import CAPTION_VARIANT_PREFIX, is_caption_variant
from paraimage.errors import UserError

# Bump when the layout of a sample (file names, JSON fields, Parquet columns) changes:
# an OUT written by another layout version is refused instead of mixed.
EXPORT_LAYOUT_VERSION = 1

FORMATS = ("webdataset", "parquet")
ORDERS = ("id", "source")
ON_MISSING_IMAGE = ("skip", "fail")
# How an image read at export is checked against its row: its length against `n_bytes`
# (free), or its SHA-256 against `sha256` (costs about 40% of a bare tar copy's time).
VERIFY = ("size", "sha256")

# Kept rows whose caption carries no quality flag. `prefix_stripped` and `retried`
# are not quality problems (the text was cleaned or regenerated), so they stay in.
DEFAULT_WHERE = (
    "status = 'kept' AND caption IS NOT NULL AND NOT list_has_any("
    "coalesce(caption_flags, []::VARCHAR[]), ["
    + ", ".join(f"'{flag}'" for flag in QUALITY_FLAGS)
    + "])"
)
DEFAULT_MIX = {"caption": 1.0}
DEFAULT_SHARD_SAMPLES = 5000
DEFAULT_SHARD_BYTES = 1_000_000_000
# datasets' own default for image Parquet: small groups stream without loading a shard.
DEFAULT_ROW_GROUP_ROWS = 100
# img2dataset's naming: zero-padded, so a brace pattern or a glob lists them in order.
SHARD_DIGITS = 5

_BYTE_SIZE = TypeAdapter(ByteSize)


class ExportError(UserError, ValueError):
    """Bad export input (run directory, options, SQL, an OUT of another export)."""


def parse_size(text: str) -> int:
    """``"500MB"``, ``"1GiB"``, ``"1.5k"``, plain numbers: bytes as an int (pydantic's
    ``ByteSize``: k/M/G/T(B) are powers of 1000, KiB/MiB/GiB/TiB of 1024)."""
    try:
        value = int(_BYTE_SIZE.validate_python(text))
    except ValidationError as exc:
        if exc.errors()[0]["type"] == "byte_size_unit":
            raise ExportError(f"unknown size unit in {text!r}") from None
        raise ExportError(f"not a size: {text!r} (e.g. 500MB, 1GB, 2GiB, 1000000)") from None
    if value <= 0:
        raise ExportError(f"size must be positive: {text!r}")
    return value


def parse_mix(text: str, known: tuple[str, ...]) -> dict[str, float]:
    """``"caption=0.95,alt_text=0.05"`` -> normalised weights, in sorted name order.

    Names are ``known`` ones or ``variant:...`` entries of ``caption_variants`` (which
    the export checks against the selected rows).

    Sorted so that the same weights written in another order give the same choice
    per sample (the cumulative intervals are laid out in this order).
    """
    weights: dict[str, float] = {}
    for part in text.split(","):
        name, sep, raw = part.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ExportError(f"--mix: expected name=weight pairs, got {part.strip()!r}")
        if name not in known and not is_caption_variant(name):
            raise ExportError(
                f"--mix: unknown caption variant {name!r}; known: {', '.join(known)}, "
                f"or {CAPTION_VARIANT_PREFIX}<label> / {CAPTION_VARIANT_PREFIX}<captioner>/<label> "
                "for the run's caption_variants"
            )
        if name in weights:
            raise ExportError(f"--mix: {name!r} given twice")
        try:
            weight = float(raw)
        except ValueError:
            raise ExportError(f"--mix: weight of {name!r} is not a number: {raw!r}") from None
        if not weight >= 0 or weight == float("inf"):
            raise ExportError(f"--mix: weight of {name!r} must be a finite number >= 0")
        weights[name] = weight
    total = sum(weights.values())
    if total <= 0:
        raise ExportError("--mix: the weights sum to 0")
    return {name: weights[name] / total for name in sorted(weights) if weights[name] > 0}


@dataclass(frozen=True)
class ExportOptions:
    run_dir: Path
    out: Path
    format: Literal["webdataset", "parquet"]
    where: str = DEFAULT_WHERE
    mix: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_MIX))
    seed: int = 0
    shard_samples: int = DEFAULT_SHARD_SAMPLES
    shard_bytes: int = DEFAULT_SHARD_BYTES
    row_group_rows: int = DEFAULT_ROW_GROUP_ROWS
    order: Literal["id", "source"] = "id"
    on_missing_image: Literal["skip", "fail"] = "skip"
    verify: Literal["size", "sha256"] = "size"

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ExportError(f"unknown format {self.format!r}; choose one of {', '.join(FORMATS)}")
        if self.order not in ORDERS:
            raise ExportError(f"unknown order {self.order!r}; choose one of {', '.join(ORDERS)}")
        if self.verify not in VERIFY:
            raise ExportError(f"--verify must be one of {', '.join(VERIFY)}")
        if self.on_missing_image not in ON_MISSING_IMAGE:
            raise ExportError(f"--on-missing-image must be one of {', '.join(ON_MISSING_IMAGE)}")
        for name in ("shard_samples", "shard_bytes", "row_group_rows"):
            if getattr(self, name) <= 0:
                raise ExportError(f"{name} must be positive, got {getattr(self, name)}")
        if not self.where.strip():
            raise ExportError("--where is empty")
        if not self.mix or abs(sum(self.mix.values()) - 1.0) > 1e-9:
            raise ExportError(f"mix weights must be positive and sum to 1, got {self.mix}")

    @property
    def extension(self) -> str:
        return "tar" if self.format == "webdataset" else "parquet"

    def shard_name(self, index: int) -> str:
        return f"shard-{index:0{SHARD_DIGITS}d}.{self.extension}"

    def fingerprint_fields(self) -> dict[str, Any]:
        """The options that change the shards' bytes (not where they are read or written)."""
        data = asdict(self)
        data.pop("run_dir")
        data.pop("out")
        data.pop("verify")  # checks what is read, never changes what is written
        if self.format != "parquet":
            data.pop("row_group_rows")
        data["layout_version"] = EXPORT_LAYOUT_VERSION
        return data
