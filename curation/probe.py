"""Decode/probe: every record's bytes become image columns or a row with a reason.

Runs on CPU workers ahead of the filters. It decodes each image fully (a header-only
probe misses truncated files), records what the image is (size, format, original
mode, sha256) and decides whether the pipeline can use it. Bad input is data:
* ``error`` rows: zero-byte, not an image, truncated/corrupt, decompression bomb;
* ``rejected`` rows: valid images the dataset does not want (animated);
* odd-but-usable modes (CMYK, 16-bit, palette, alpha) are kept and converted to RGB
  by ``load_rgb``; the original mode stays in the ``mode`` column.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from typing import Any, ClassVar

from PIL import Image, ImageOps, UnidentifiedImageError

from paraimage.manifest import STATUS_ERROR, STATUS_KEPT, STATUS_REJECTED
from paraimage.row_stage import RowStage, Scratch
from paraimage.source import IMAGE_BYTES

# PIL's own bomb limit (~89.5 Mpx); SA-1B images are ~3.4 Mpx, LAION rarely > 40 Mpx.
DEFAULT_MAX_PIXELS = 89_478_485

ERROR_EMPTY = "decode_empty_file"
ERROR_NOT_IMAGE = "decode_not_an_image"
ERROR_CORRUPT = "decode_corrupt"
ERROR_TOO_LARGE = "decode_too_many_pixels"
REJECT_ANIMATED = "decode_animated"

DECODED = "decoded_image"  # scratch key: the row's ``DecodedImage``


@dataclass(frozen=True)
class ProbeResult:
    columns: dict[str, Any]
    status: str = STATUS_KEPT
    reason: str | None = None


def open_image(data: bytes, max_pixels: int) -> Image.Image:
    """The one way bytes become a PIL image here (lazily: pixels are decoded on load)."""
    # PIL refuses above 2x its own limit before we see the size; align it with ours.
    Image.MAX_IMAGE_PIXELS = max_pixels
    image = Image.open(io.BytesIO(data))
    # PIL only warns between 1x and 2x its limit; we make the configured limit hard.
    if image.width * image.height > max_pixels:
        raise Image.DecompressionBombError(
            f"{image.width}x{image.height} = {image.width * image.height} pixels "
            f"exceeds max_pixels={max_pixels}"
        )
    return image


def probe(data: bytes | None, max_pixels: int) -> tuple[ProbeResult, Image.Image | None]:
    """``probe_image``'s result, and the fully decoded image when the row is usable."""
    if not data:
        return ProbeResult({"n_bytes": 0}, STATUS_ERROR, f"{ERROR_EMPTY}: zero-byte file"), None
    columns: dict[str, Any] = {
        "n_bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = open_image(data, max_pixels)
            columns.update(
                width=image.width,
                height=image.height,
                short_edge=min(image.width, image.height),
                format=image.format,
                mode=image.mode,
            )
            if getattr(image, "is_animated", False) and getattr(image, "n_frames", 1) > 1:
                return ProbeResult(columns, STATUS_REJECTED, REJECT_ANIMATED), None
            image.load()  # full decode: catches truncated and corrupt data
    except UnidentifiedImageError:
        return ProbeResult(
            columns, STATUS_ERROR, f"{ERROR_NOT_IMAGE}: not a decodable image"
        ), None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        return ProbeResult(columns, STATUS_ERROR, f"{ERROR_TOO_LARGE}: {exc}"), None
    except (OSError, SyntaxError, ValueError) as exc:
        return ProbeResult(columns, STATUS_ERROR, f"{ERROR_CORRUPT}: {exc}"), None
    return ProbeResult(columns), image


def probe_image(data: bytes | None, max_pixels: int = DEFAULT_MAX_PIXELS) -> ProbeResult:
    """Decode ``data`` fully and describe it; never raises for bad bytes."""
    return probe(data, max_pixels)[0]


def to_rgb(image: Image.Image) -> Image.Image:
    """An opened image as upright 8-bit RGB."""
    image = ImageOps.exif_transpose(image) or image
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit greyscale: scale to 8 bits instead of PIL's clipping conversion.
        image = image.point(lambda v: v / 256).convert("L")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        return background
    return image.convert("RGB")


def load_rgb(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Decode bytes that passed ``probe_image`` into an upright 8-bit RGB image."""
    return to_rgb(open_image(data, max_pixels))


class DecodedImage:
    """One row's image, decoded once and shared by the row stages of one Ray task
    (``paraimage.row_stage``): the probe decodes it, the filters and the caption-image
    stage take it from the row's scratch instead of decoding the bytes again."""

    def __init__(self, image: Image.Image) -> None:
        self.format = image.format
        self.mode = image.mode  # the original mode, before ``rgb``
        self._image: Image.Image | None = image
        self._rgb: Image.Image | None = None

    def rgb(self) -> Image.Image:
        """Upright 8-bit RGB at full resolution, converted on first use."""
        if self._rgb is None:
            assert self._image is not None
            self._rgb = to_rgb(self._image)
            self._image = None  # only the RGB copy is used from here on: free the other
        return self._rgb


def decoded_image(row: dict[str, Any], scratch: Scratch, max_pixels: int) -> DecodedImage:
    """The image of ``row``: the one already decoded in this task, else its bytes
    decoded now (a stage running on its own, after an actor stage or in a test)."""
    decoded = scratch.get(DECODED)
    if decoded is None:
        decoded = scratch[DECODED] = DecodedImage(open_image(row[IMAGE_BYTES], max_pixels))
    return decoded


class ProbeStage(RowStage):
    """Ray Data batch stage: fills the image columns of every row still ``kept``, and
    leaves the decoded image in the row's scratch for the stages chained after it."""

    # probe_image turns the errors PIL documents into rows; anything else it raises on
    # an image (PIL plugins raise odd types on odd input) is a corrupt file as well
    error_prefix: ClassVar[str] = ERROR_CORRUPT

    def __init__(self, max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
        if max_pixels <= 0:
            raise ValueError(f"max_pixels must be positive, got {max_pixels}")
        self.max_pixels = max_pixels

    def process_row(self, row: dict[str, Any], scratch: Scratch) -> None:
        result, image = probe(row.get(IMAGE_BYTES), self.max_pixels)
        row.update(result.columns)
        if result.status == STATUS_ERROR:
            row.update(status=STATUS_ERROR, error=result.reason)
        elif result.status == STATUS_REJECTED:
            row.update(status=STATUS_REJECTED, reject_reason=result.reason)
        elif image is not None:
            scratch[DECODED] = DecodedImage(image)
