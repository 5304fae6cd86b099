"""Bad and odd image files, generated: the inputs the decode stage must survive.

Used by the demo (so its funnel shows error and reject rows) and by the tests.
Each entry maps a file name to its bytes; the name says what it is.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image


def _encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def _gradient(width: int = 96, height: int = 64) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 255 // width, y * 255 // height, (x + y) % 256], axis=-1).astype(np.uint8)


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    )


def decompression_bomb_png(width: int = 40_000, height: int = 40_000) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` pixels in a few hundred bytes."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    rows = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", rows)
        + _png_chunk(b"IEND", b"")
    )


def edge_case_files() -> dict[str, bytes]:
    rgb = Image.fromarray(_gradient())
    jpeg = _encode(rgb, "JPEG", quality=90)
    frames = [Image.fromarray(np.roll(_gradient(), shift * 8, axis=1)) for shift in range(3)]
    animated = io.BytesIO()
    frames[0].save(animated, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    grey16 = Image.fromarray(_gradient()[..., 0].astype(np.uint16) * 257)  # mode I;16
    return {
        "edge_zero_byte.jpg": b"",
        "edge_truncated.jpg": jpeg[: len(jpeg) // 2],
        "edge_not_an_image.jpg": b"<!doctype html><html><body>404 Not Found</body></html>",
        "edge_cmyk.jpg": _encode(rgb.convert("CMYK"), "JPEG", quality=90),
        "edge_16bit.png": _encode(grey16, "PNG"),
        "edge_palette.png": _encode(rgb.convert("P", palette=Image.Palette.ADAPTIVE), "PNG"),
        "edge_animated.gif": animated.getvalue(),
        "edge_decompression_bomb.png": decompression_bomb_png(),
    }
