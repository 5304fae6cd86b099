"""The CPU stages as the recaption job wires them: one task per batch that decodes each
image once for the probe, the filters and the caption image, and gives the same rows as
the three stages run one after another (each decoding the bytes itself, as before)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageFile

from captioners.model_source import ResolvedModel
from demo.edge_cases import edge_case_files
from paraimage.batches import Batch, batch_to_rows, rows_to_batch
from paraimage.engine import CpuStage
from paraimage.row_stage import RowChain
from paraimage.source import IMAGE_BYTES
from workflows.config import load_config
from workflows.recaption import build_stages

REPO_ROOT = Path(__file__).resolve().parents[2]
SA1B_SIZE = (2250, 1500)
IMAGE_SIZE = 336  # the captioner's short edge: JPEGs decode at 1/4 scale for it


def demo_stages(tmp_path: Path, *overrides: str) -> list:
    config = load_config(REPO_ROOT / "configs" / "demo.yaml", [
        f"run.output_dir={tmp_path / 'runs'}", *overrides])
    return build_stages(config, ResolvedModel("org/model", "org/model"), IMAGE_SIZE)


def encode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def photo(size: tuple[int, int]) -> Image.Image:
    from skimage import data

    return Image.fromarray(data.astronaut()).resize(size)


def input_rows() -> list[dict[str, Any]]:
    edge = edge_case_files()
    files = {
        "sa1b.jpg": encode(photo(SA1B_SIZE), "JPEG"),
        "photo.png": encode(photo((640, 480)), "PNG"),
        "alpha.png": encode(photo((300, 200)).convert("RGBA"), "PNG"),
        "edge_16bit.png": edge["edge_16bit.png"],
        "edge_truncated.jpg": edge["edge_truncated.jpg"],
        "edge_animated.gif": edge["edge_animated.gif"],
    }
    return [{"id": name, "status": "kept", "error": None, "reject_reason": None,
             IMAGE_BYTES: data} for name, data in files.items()]


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[int, int]]]:
    """(format, size) of every decode of pixels: PIL decodes in ``ImageFile.load``
    while the image still has tiles to read (later calls return what is loaded)."""
    seen: list[tuple[str, tuple[int, int]]] = []
    real_load = ImageFile.ImageFile.load

    def counting_load(self: ImageFile.ImageFile) -> Any:
        if self.tile:
            seen.append((self.format, self.size))
        return real_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", counting_load)
    return seen


def run_each(stage: CpuStage, batch: Batch) -> Batch:
    """The chained stages one after another, as three Ray Data stages ran them."""
    assert isinstance(stage.fn, RowChain)
    for row_stage in stage.fn.stages:
        batch = row_stage(batch)
    return batch


def test_the_demo_runs_probe_filters_and_prepare_as_one_stage(tmp_path: Path) -> None:
    assert [stage.name for stage in demo_stages(tmp_path)] == [
        "probe+filters+prepare", "caption", "stats"]
    no_filters = demo_stages(tmp_path, "filters={}")
    assert [stage.name for stage in no_filters] == ["probe+prepare", "caption", "stats"]


def test_the_aesthetic_actor_splits_the_cpu_stage(tmp_path: Path) -> None:
    stages = demo_stages(tmp_path, "filters.aesthetic={threshold: 5.0}")
    assert [stage.name for stage in stages] == [
        "probe+filters", "aesthetic", "prepare", "caption", "stats"]


def test_each_image_is_decoded_once(
    tmp_path: Path, decodes: list[tuple[str, tuple[int, int]]]
) -> None:
    cpu, batch = demo_stages(tmp_path)[0], rows_to_batch(input_rows())
    decodes.clear()  # making the photos decoded skimage's
    out = batch_to_rows(cpu.fn(batch))
    assert [(row["id"], row["status"]) for row in out] == [
        ("sa1b.jpg", "kept"), ("photo.png", "kept"), ("alpha.png", "kept"),
        ("edge_16bit.png", "rejected"), ("edge_truncated.jpg", "error"),
        ("edge_animated.gif", "rejected")]
    # one full decode per decodable image; a kept JPEG is read once more in draft mode,
    # at 1/4 scale for the captioner (see captioners/prepare.py)
    assert decodes == [
        ("JPEG", SA1B_SIZE), ("JPEG", (563, 375)),
        ("PNG", (640, 480)), ("PNG", (300, 200)), ("PNG", (96, 64)), ("JPEG", (96, 64)),
    ]


def test_the_stages_one_by_one_decode_each_image_per_stage(
    tmp_path: Path, decodes: list[tuple[str, tuple[int, int]]]
) -> None:
    cpu, batch = demo_stages(tmp_path)[0], rows_to_batch(input_rows())
    decodes.clear()
    run_each(cpu, batch)
    probe = [("JPEG", SA1B_SIZE), ("PNG", (640, 480)), ("PNG", (300, 200)),
             ("PNG", (96, 64)), ("JPEG", (96, 64))]
    filters = probe[:4]  # the truncated file is an error row after the probe
    prepare = [("JPEG", (563, 375)), ("PNG", (640, 480)), ("PNG", (300, 200))]
    assert decodes == probe + filters + prepare  # the 16-bit one is too small: rejected


@pytest.mark.parametrize("overrides", [(), ("filters={}",), ("decode.max_pixels=300000",)])
def test_one_decode_gives_the_rows_of_three(
    tmp_path: Path, overrides: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the probe aligns PIL's global limit with max_pixels: put it back for later tests
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)
    cpu = demo_stages(tmp_path, *overrides)[0]
    chained = cpu.fn(rows_to_batch(input_rows()))
    assert chained.equals(run_each(cpu, rows_to_batch(input_rows())))
    assert IMAGE_BYTES not in chained.column_names
    shapes = {row["id"]: row["_caption_image_shape"] for row in batch_to_rows(chained)
              if row["status"] == "kept"}
    assert all(len(row["_caption_image"]) == np.prod(shapes[row["id"]])
               for row in batch_to_rows(chained) if row["id"] in shapes)
    if not overrides:
        assert shapes == {"sa1b.jpg": [336, 504, 3], "photo.png": [336, 448, 3],
                          "alpha.png": [200, 300, 3]}
