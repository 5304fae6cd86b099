"""Releases of a run: webdataset or Parquet shards, caption mixing, the dataset card."""

from export.exporter import WRITERS, ExportSummary, export_run
from export.mixing import VARIANT_NAMES, CaptionMix, MixTally
from export.options import DEFAULT_WHERE, ExportError, ExportOptions
from export.parquet_writer import ParquetShardWriter
from export.samples import SAMPLE_SCHEMA, ExportSample
from export.webdataset_writer import WebDatasetShardWriter

__all__ = [
    "DEFAULT_WHERE",
    "SAMPLE_SCHEMA",
    "VARIANT_NAMES",
    "WRITERS",
    "CaptionMix",
    "ExportError",
    "ExportOptions",
    "ExportSample",
    "ExportSummary",
    "MixTally",
    "ParquetShardWriter",
    "WebDatasetShardWriter",
    "export_run",
]
