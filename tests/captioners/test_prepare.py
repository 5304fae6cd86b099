"""The caption-image stage's error policy: an image PIL fails on in any way is that
row's error, whatever the exception type, and its neighbours are prepared."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from captioners.prepare import CAPTION_IMAGE, CAPTION_IMAGE_SHAPE, CaptionImagePrep
from paraimage.batches import batch_to_rows, rows_to_batch
from paraimage.source import IMAGE_BYTES


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return (struct.pack(">I", len(payload)) + kind + payload
            + struct.pack(">I", zlib.crc32(kind + payload)))


def broken_png() -> bytes:
    """A 16x16 PNG whose pixel data is split over two chunks, the second with a chunk
    type that is not letters: the header opens, decoding raises ``SyntaxError``."""
    pixels = zlib.compress(b"".join(b"\x00" + bytes(range(48)) for _ in range(16)))
    half = len(pixels) // 2
    header = struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", pixels[:half])
            + _chunk(b"\x00\x00\x00\x00", pixels[half:]) + _chunk(b"IEND", b""))


def test_the_broken_png_raises_syntax_error_in_pil() -> None:
    image = Image.open(io.BytesIO(broken_png()))
    with pytest.raises(SyntaxError, match="broken PNG file"):
        image.load()


def test_an_image_raising_syntax_error_is_an_error_row() -> None:
    good = io.BytesIO()
    Image.new("RGB", (32, 16), (10, 20, 30)).save(good, format="PNG")
    rows = [{"id": "bad", "status": "kept", "error": None, IMAGE_BYTES: broken_png()},
            {"id": "good", "status": "kept", "error": None, IMAGE_BYTES: good.getvalue()}]
    out = batch_to_rows(CaptionImagePrep(8)(rows_to_batch(rows)))
    assert out == [
        {"id": "bad", "status": "error",
         "error": "prepare_failed: broken PNG file (chunk b'\\x00\\x00\\x00\\x00')",
         CAPTION_IMAGE: None, CAPTION_IMAGE_SHAPE: None},
        {"id": "good", "status": "kept", "error": None,
         CAPTION_IMAGE: bytes([10, 20, 30]) * 16 * 8, CAPTION_IMAGE_SHAPE: [8, 16, 3]},
    ]


def test_a_jpeg_stored_on_its_side_is_captioned_upright() -> None:
    # a 600x300 photo (wide) stored as 300x600 pixels with EXIF orientation 6 (turn
    # 90 degrees clockwise to view): the model sees it wide, as the filters do
    upright = Image.new("RGB", (600, 300), (200, 40, 40))
    upright.paste((40, 40, 200), (0, 0, 100, 300))  # a blue band on the left
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # what the camera wrote
    exif = Image.Exif()
    exif[0x0112] = 6
    data = io.BytesIO()
    stored.save(data, "JPEG", quality=95, exif=exif.tobytes())
    rows = batch_to_rows(CaptionImagePrep(image_size=100)(rows_to_batch(
        [{"id": "a", "status": "kept", IMAGE_BYTES: data.getvalue()}])))
    (row,) = rows
    assert list(row[CAPTION_IMAGE_SHAPE]) == [100, 200, 3]  # height, width, channels
    pixels = np.frombuffer(row[CAPTION_IMAGE], dtype=np.uint8).reshape(100, 200, 3)
    assert pixels[50, 10, 2] > 150 > pixels[50, 10, 0]  # blue on the left
    assert pixels[50, 190, 0] > 150 > pixels[50, 190, 2]  # red on the right
