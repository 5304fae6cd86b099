"""Webdataset shards: plain tars of ``key.<ext>``, ``key.json``, ``key.txt`` per sample.

Byte-identical on every rerun: members in sample order, each sample's files in a fixed
order, and every header field that usually carries the writer's clock or identity
(mtime, uid, gid, uname, gname, mode) fixed. USTAR headers: ids are short, so no PAX
records (which could carry times) are ever needed.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from paraimage.export.samples import ExportSample

FIXED_MTIME = 0
FILE_MODE = 0o644


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = FIXED_MTIME
    info.mode = FILE_MODE
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    tar.addfile(info, io.BytesIO(data))


def write_samples(handle: BinaryIO, samples: Iterable[ExportSample]) -> int:
    count = 0
    with tarfile.open(fileobj=handle, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for sample in samples:
            _add(tar, f"{sample.key}.{sample.image_ext}", sample.image)
            _add(tar, f"{sample.key}.json", sample.json_bytes())
            _add(tar, f"{sample.key}.txt", sample.text.encode())
            count += 1
    return count


class WebDatasetShardWriter:
    extension = "tar"

    def __init__(self, row_group_rows: int | None = None) -> None:
        del row_group_rows  # tars have no row groups; the registry passes it to all writers

    def write(self, path: Path, samples: Iterable[ExportSample]) -> int:
        """Write ``samples`` to ``path``; returns how many were written."""
        with open(path, "wb") as handle:
            return write_samples(handle, samples)
