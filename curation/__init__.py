"""Sources, decoding and image references."""

from curation.base import BaseSource, ShardSpec
from curation.folder import FolderSource, FolderSourceConfig
from curation.image_ref import ImageRefError, open_image_ref
from curation.probe import ProbeStage
from curation.sample_photos import SamplePhotosSource, SamplePhotosSourceConfig
from curation.webdataset import WebDatasetSource, WebDatasetSourceConfig

__all__ = [
    "BaseSource",
    "FolderSource",
    "FolderSourceConfig",
    "ImageRefError",
    "ProbeStage",
    "SamplePhotosSource",
    "SamplePhotosSourceConfig",
    "ShardSpec",
    "WebDatasetSource",
    "WebDatasetSourceConfig",
    "open_image_ref",
]
