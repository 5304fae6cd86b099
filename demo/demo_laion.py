"""The demo's LAION path: LAION-style metadata over photos served from 127.0.0.1.

Everything a LAION-Aesthetics run does happens for real (metadata normalisation,
prefilters, img2dataset downloads into webdataset shards, politeness, reasons for
failures), only the web is a local server that this source starts for the run and
stops after it. The photos are mirrored crops of the package photos, so they are new
images, not duplicates of the ``sample_photos`` source.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image, ImageOps
from pydantic import Field

from curation.base import BaseSource, ShardSpec, SourceConfig
from curation.registry import SourceKind, register_source
from curation.url_text import UrlTextSource, UrlTextSourceConfig
from demo.local_server import LocalImageServer
from demo.sample_photos import PHOTOS
from paraimage.atomic import atomic_path

DEMO_CONTACT = "https://example.org/paraimage-demo"


class DemoLaionSourceConfig(SourceConfig):
    kind: Literal["demo_laion"]
    cache_dir: Path = Path(".demo-cache/demo_laion")
    port: int = Field(8719, gt=0, lt=65536, description="the local server's port")
    rows_per_shard: int = Field(4, gt=0)
    download_dir: Path | None = Field(None, description="default RUN_DIR/downloads/<name>")


def _write_photos(folder: Path) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for name, load in PHOTOS.items():
        path = folder / f"{name}_mirrored.jpg"
        if not path.exists():
            image = ImageOps.mirror(Image.fromarray(load()))
            width, height = image.size
            image = image.crop((width // 10, height // 10, width - width // 10,
                                height - height // 10))
            with atomic_path(path) as tmp:
                image.save(tmp, format="JPEG", quality=92)
        names.append(path.name)
    return names


def demo_metadata(base_url: str, photos: list[str], folder: Path) -> pa.Table:
    """LAION-Aesthetics v2 columns: what a real part file holds, one row per case."""
    rows: list[dict[str, Any]] = []

    def add(route: str, name: str, text: str, **overrides: float) -> None:
        size = Image.open(folder / name).size if (folder / name).exists() else (640, 480)
        rows.append({
            "URL": f"{base_url}/{route}/{name}", "TEXT": text,
            "WIDTH": float(size[0]), "HEIGHT": float(size[1]), "similarity": 0.31,
            "punsafe": 0.01, "pwatermark": 0.05, "AESTHETIC_SCORE": 6.2, **overrides,
        })

    for name in photos:
        add("img", name, name.split("_mirrored")[0].replace("_", " "))
    add("img", "vanished.jpg", "a link that died (404)")
    add("noai", photos[0], "the owner opted out with X-Robots-Tag: noai")
    add("html", "moved.html", "a link that now returns an HTML page")
    add("img", photos[1], "below the aesthetic threshold", AESTHETIC_SCORE=4.1)
    add("img", photos[2], "a thumbnail per its metadata", WIDTH=96.0, HEIGHT=64.0)
    return pa.Table.from_pylist(rows)


class DemoLaionSource(BaseSource):
    name = "demo_laion"

    def __init__(self, config: DemoLaionSourceConfig) -> None:
        if config.download_dir is None:
            raise ValueError("download_dir is unset (JobConfig sets it from the run dir)")
        self.name = config.source_name
        self.config = config
        self.served = config.cache_dir.expanduser().resolve() / "served"
        self.base_url = f"http://127.0.0.1:{config.port}"

    @property
    def metadata(self) -> Path:
        return self.served.parent / "laion-demo.parquet"

    def _write_inputs(self) -> None:
        """Photos and metadata, idempotent; done when planning or serving, never when a
        config is merely checked. The metadata is rewritten each time (the same bytes
        for the same port): its URLs carry the configured port."""
        photos = _write_photos(self.served)
        with atomic_path(self.metadata) as tmp:
            pq.write_table(demo_metadata(self.base_url, photos, self.served), tmp)

    def _laion(self) -> UrlTextSource:
        return UrlTextSource(UrlTextSourceConfig(
            kind="laion",
            name=self.name,
            metadata=[str(self.metadata)],
            rows_per_shard=self.config.rows_per_shard,
            prefilter={"min_aesthetic": 5.0, "min_short_edge": 128},
            download={"timeout_s": 5, "thread_count": 8, "contact_url": DEMO_CONTACT},
            download_dir=self.config.download_dir,
        ))

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        self._write_inputs()
        server = LocalImageServer(self.served, port=self.config.port)
        try:
            server.start()
        except OSError as exc:
            raise RuntimeError(
                f"demo_laion: cannot serve on 127.0.0.1:{self.config.port} ({exc}); "
                "set the source's `port` to a free one"
            ) from exc
        print(f"[paraimage] demo_laion: serving {self.served} at {self.base_url}", flush=True)
        try:
            yield
        finally:
            server.stop()

    def plan(self) -> list[ShardSpec]:
        self._write_inputs()
        return self._laion().plan()

    def read(self, shard: ShardSpec, run_id: str) -> Iterator[dict[str, Any]]:
        return self._laion().read(shard, run_id)


register_source(SourceKind(
    DemoLaionSourceConfig, DemoLaionSource, downloads=True, reject_steps=("prefilter", "download"),
    terms={"demo_laion": (
        "demo LAION path", "LAION-style metadata made up by the demo, its URLs served from "
        "127.0.0.1 out of the package sample photos (see sample_photos). For demos and "
        "tests only.")},
))
