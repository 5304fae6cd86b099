"""Parquet shards: one row per sample, ``SAMPLE_SCHEMA`` columns, image bytes in ``image``.

Row groups of ``row_group_rows`` samples are written as the samples arrive, so memory
holds one group, and a reader streaming the file (``datasets`` with ``streaming=True``,
DuckDB, pyarrow's ``iter_batches``) holds one group too. Images are already compressed:
their column is stored uncompressed, the text columns with zstd. Parquet files carry no
timestamps, so the same rows give the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from export.samples import SAMPLE_SCHEMA, ExportSample

IMAGE_COLUMN = "image"
_COMPRESSION = {name: ("NONE" if name == IMAGE_COLUMN else "ZSTD") for name in SAMPLE_SCHEMA.names}
# min/max statistics of image bytes are large and useless for pruning
_STATISTICS = [name for name in SAMPLE_SCHEMA.names if name != IMAGE_COLUMN]


class ParquetShardWriter:
    extension = "parquet"

    def __init__(self, row_group_rows: int) -> None:
        self.row_group_rows = row_group_rows

    def write(self, path: Path, samples: Iterable[ExportSample]) -> int:
        """Write ``samples`` to ``path``; returns how many were written."""
        count = 0
        group: list[dict] = []
        with pq.ParquetWriter(
            path, SAMPLE_SCHEMA, compression=_COMPRESSION, write_statistics=_STATISTICS,
        ) as writer:
            for sample in samples:
                group.append(sample.parquet_row())
                count += 1
                if len(group) == self.row_group_rows:
                    writer.write_table(pa.Table.from_pylist(group, schema=SAMPLE_SCHEMA))
                    group = []
            if group:
                writer.write_table(pa.Table.from_pylist(group, schema=SAMPLE_SCHEMA))
        return count
