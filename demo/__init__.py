"""The demo's sources, kept out of the product packages: package sample photos and a
LAION-style path served from 127.0.0.1, so the Quickstart and the tests need no data
and no network. Importing this package registers both source kinds."""

from demo.demo_laion import DemoLaionSource, DemoLaionSourceConfig
from demo.sample_photos import SamplePhotosSource, SamplePhotosSourceConfig

__all__ = [
    "DemoLaionSource",
    "DemoLaionSourceConfig",
    "SamplePhotosSource",
    "SamplePhotosSourceConfig",
]
