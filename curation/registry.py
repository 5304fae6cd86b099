"""Source kinds by name: the config's ``source.kind`` picks the class."""

from __future__ import annotations

from pydantic import BaseModel

from curation.base import BaseSource
from curation.folder import FolderSource
from curation.sample_photos import SamplePhotosSource
from curation.webdataset import WebDatasetSource

SOURCES: dict[str, type[BaseSource]] = {
    "folder": FolderSource,
    "webdataset": WebDatasetSource,
    "sample_photos": SamplePhotosSource,
}


def build_source(config: BaseModel) -> BaseSource:
    kind = getattr(config, "kind")
    if kind not in SOURCES:
        raise ValueError(f"source.kind {kind!r} has no implementation")
    return SOURCES[kind](config)
