"""Sources, decoding and image references."""

from curation.base import BaseSource, ShardSpec, SourceConfig
from curation.folder import FolderSource, FolderSourceConfig
from curation.image_ref import ImageRefError, open_image_ref
from curation.probe import ProbeStage
from curation.registry import SourceKind, build_sources, register_source, source_kinds
from curation.sa1b import SA1BSource, SA1BSourceConfig
from curation.url_text import UrlTextSource, UrlTextSourceConfig
from curation.webdataset import WebDatasetSource, WebDatasetSourceConfig

__all__ = [
    "BaseSource",
    "FolderSource",
    "FolderSourceConfig",
    "ImageRefError",
    "ProbeStage",
    "SA1BSource",
    "SA1BSourceConfig",
    "ShardSpec",
    "SourceConfig",
    "SourceKind",
    "UrlTextSource",
    "UrlTextSourceConfig",
    "WebDatasetSource",
    "WebDatasetSourceConfig",
    "build_sources",
    "open_image_ref",
    "register_source",
    "source_kinds",
]
