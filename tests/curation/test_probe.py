from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from curation.probe import IMAGE_BYTES, ProbeStage, load_rgb, probe_image
from demo.edge_cases import edge_case_files
from paraimage.batches import batch_to_rows, rows_to_batch

EDGE = edge_case_files()


def test_real_photo_is_described(astronaut_jpeg: bytes) -> None:
    import hashlib

    result = probe_image(astronaut_jpeg)
    assert result.status == "kept"
    assert result.columns == {
        "n_bytes": len(astronaut_jpeg),
        "sha256": hashlib.sha256(astronaut_jpeg).hexdigest(),
        "width": 512,
        "height": 512,
        "short_edge": 512,
        "format": "JPEG",
        "mode": "RGB",
    }


@pytest.mark.parametrize(
    ("name", "status", "reason_prefix"),
    [
        ("edge_zero_byte.jpg", "error", "decode_empty_file: zero-byte file"),
        ("edge_not_an_image.jpg", "error", "decode_not_an_image: not a decodable image"),
        ("edge_truncated.jpg", "error", "decode_corrupt: "),
        (
            "edge_decompression_bomb.png",
            "error",
            "decode_too_many_pixels: Image size (1600000000 pixels)",
        ),
        ("edge_animated.gif", "rejected", "decode_animated"),
    ],
)
def test_bad_inputs_become_reasons(name: str, status: str, reason_prefix: str) -> None:
    result = probe_image(EDGE[name])
    assert result.status == status
    assert result.reason is not None and result.reason.startswith(reason_prefix)


@pytest.mark.parametrize(
    ("name", "mode"),
    [("edge_cmyk.jpg", "CMYK"), ("edge_16bit.png", "I;16"), ("edge_palette.png", "P")],
)
def test_odd_modes_are_kept_and_decode_to_rgb(name: str, mode: str) -> None:
    result = probe_image(EDGE[name])
    assert (result.status, result.columns["mode"]) == ("kept", mode)
    rgb = load_rgb(EDGE[name])
    assert (rgb.mode, rgb.size) == ("RGB", (96, 64))


def test_16bit_is_scaled_not_clipped() -> None:
    # the generator's first column is 0 and its right edge close to 65535
    rgb = np.asarray(load_rgb(EDGE["edge_16bit.png"]))
    assert rgb[0, 0, 0] == 0
    assert rgb[0, -1, 0] >= 250


def test_max_pixels_is_a_hard_limit(astronaut_jpeg: bytes) -> None:
    result = probe_image(astronaut_jpeg, max_pixels=512 * 512 - 1)
    assert result.status == "error"
    assert result.reason is not None
    assert result.reason.startswith(
        "decode_too_many_pixels: Image size (262144 pixels) exceeds limit of 262143 pixels"
    )


def test_rgba_is_flattened_on_white() -> None:
    rgba = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    buffer = io.BytesIO()
    rgba.save(buffer, format="PNG")
    assert np.asarray(load_rgb(buffer.getvalue()))[0, 0].tolist() == [255, 255, 255]


def test_stage_fills_rows_and_leaves_non_kept_rows_alone(astronaut_jpeg: bytes) -> None:
    rows = [
        {"id": "a", "status": "kept", IMAGE_BYTES: astronaut_jpeg},
        {"id": "b", "status": "kept", IMAGE_BYTES: EDGE["edge_truncated.jpg"]},
        {"id": "c", "status": "error", "error": "read_failed: gone", IMAGE_BYTES: None},
        {"id": "d", "status": "kept", IMAGE_BYTES: EDGE["edge_animated.gif"]},
    ]
    out = {row["id"]: row for row in batch_to_rows(ProbeStage()(rows_to_batch(rows)))}
    assert (out["a"]["status"], out["a"]["width"], out["a"][IMAGE_BYTES]) == (
        "kept", 512, astronaut_jpeg,
    )
    assert out["b"]["status"] == "error" and out["b"]["error"].startswith("decode_corrupt")
    assert out["b"][IMAGE_BYTES] is None  # bytes of dead rows are not carried further
    assert (out["c"]["status"], out["c"]["error"], out["c"]["width"]) == (
        "error", "read_failed: gone", None,
    )
    assert (out["d"]["status"], out["d"]["reject_reason"]) == ("rejected", "decode_animated")


def test_stage_rejects_a_bad_limit() -> None:
    with pytest.raises(ValueError, match="max_pixels must be positive"):
        ProbeStage(max_pixels=0)


def test_stage_leaves_the_decoded_image_for_the_stages_after_it(astronaut_jpeg: bytes) -> None:
    from curation.probe import DECODED

    row = {"id": "a", "status": "kept", IMAGE_BYTES: astronaut_jpeg}
    scratch: dict = {}
    ProbeStage().process_row(row, scratch)
    decoded = scratch[DECODED]
    assert (decoded.format, decoded.mode) == ("JPEG", "RGB")
    assert np.array_equal(np.asarray(decoded.rgb()), np.asarray(load_rgb(astronaut_jpeg)))


def test_an_unexpected_exception_is_a_corrupt_file(
    astronaut_jpeg: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    import curation.probe

    def broken_plugin(data: bytes, max_pixels: int) -> Image.Image:
        raise IndexError("tuple index out of range")  # what some PIL plugins raise

    monkeypatch.setattr(curation.probe, "open_image", broken_plugin)
    rows = [{"id": "a", "status": "kept", IMAGE_BYTES: astronaut_jpeg}]
    out = batch_to_rows(ProbeStage()(rows_to_batch(rows)))
    assert out == [{"id": "a", "status": "error", IMAGE_BYTES: None,
                    "error": "decode_corrupt: tuple index out of range"}]
