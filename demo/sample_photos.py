"""Real photographs that ship inside installed packages, as a source for the demo.

Nothing is downloaded: scikit-image and matplotlib bundle these files.
They are written once as JPEG/PNG files into a cache folder, which is then read like
any local folder, so ``image_ref`` points at real files the review tool can open.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image
from pydantic import Field

from curation.base import BaseSource, ShardSpec, SourceConfig
from curation.folder import FolderSource, FolderSourceConfig
from curation.registry import SourceKind, register_source
from demo.edge_cases import edge_case_files
from paraimage.atomic import atomic_path


def _skimage(name: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        import skimage.data

        return getattr(skimage.data, name)()

    return load


def _grace_hopper() -> np.ndarray:
    from matplotlib import cbook

    with cbook.get_sample_data("grace_hopper.jpg") as handle:
        return np.asarray(Image.open(handle).convert("RGB"))


# Photographs only (no microscopy, charts or text pages): what a captioner would see.
PHOTOS: dict[str, Callable[[], np.ndarray]] = {
    "astronaut": _skimage("astronaut"),
    "coffee": _skimage("coffee"),
    "chelsea": _skimage("chelsea"),
    "rocket": _skimage("rocket"),
    "camera": _skimage("camera"),
    "grace_hopper": _grace_hopper,
}


class SamplePhotosSourceConfig(SourceConfig):
    kind: Literal["sample_photos"]
    cache_dir: Path = Path(".demo-cache/sample_photos")
    shard_size: int = Field(4, gt=0)
    include_edge_cases: bool = Field(
        True, description="add generated bad files (zero-byte, truncated, bomb, ...)"
    )


def write_sample_photos(folder: Path, include_edge_cases: bool) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, load in PHOTOS.items():
        path = folder / f"{name}.jpg"
        if not path.exists():
            with atomic_path(path) as tmp:
                Image.fromarray(load()).save(tmp, format="JPEG", quality=95)
        written.append(path)
    if include_edge_cases:
        files = {
            **edge_case_files(),
            # the same bytes under another name: the run-level dedup must catch it
            "edge_exact_duplicate.jpg": (folder / "astronaut.jpg").read_bytes(),
        }
        for name, data in files.items():
            path = folder / name
            if not path.exists():
                path.write_bytes(data)
            written.append(path)
    return written


class SamplePhotosSource(BaseSource):
    name = "sample_photos"

    def __init__(self, config: SamplePhotosSourceConfig) -> None:
        self.name = config.source_name
        self.config = config

    def _folder(self) -> FolderSource:
        folder = self.config.cache_dir.expanduser().resolve()
        write_sample_photos(folder, self.config.include_edge_cases)
        source = FolderSource(
            FolderSourceConfig(kind="folder", path=folder, shard_size=self.config.shard_size)
        )
        source.name = self.name
        return source

    def plan(self) -> list[ShardSpec]:
        return self._folder().plan()

    def read(self, shard: ShardSpec, run_id: str) -> Iterator[dict[str, Any]]:
        return FolderSource(
            FolderSourceConfig(kind="folder", path=Path(shard.uri), shard_size=1)
        ).read(shard, run_id)


register_source(SourceKind(
    SamplePhotosSourceConfig, SamplePhotosSource,
    terms={"sample_photos": (
        "package sample photos", "Demo photographs shipped by scikit-image (`skimage.data`) "
        "and matplotlib (`grace_hopper.jpg`); each package documents its images' licences "
        "(public domain or free to use). The edge cases are generated. For demos and tests "
        "only.")},
))
