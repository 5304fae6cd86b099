"""Webdataset shards: plain tars of ``key.<ext>``, ``key.json``, ``key.txt`` per sample.

Byte-identical on every rerun: members in sample order, each sample's files in a fixed
order, and every header field that usually carries the writer's clock or identity
(mtime, uid, gid, uname, gname) fixed, mode 0644. The POSIX ustar headers are written
here rather than by ``tarfile``: the bytes are then ours, not a Python version's
(tarfile changed its device fields within 3.11), and a header costs a template copy
instead of tarfile's per-field Python (three members per sample made tarfile the
export's largest cost). The output equals ``tarfile``'s USTAR output for the same
members on Python 3.11 (tests/export checks it) and reads back with tarfile,
webdataset and GNU tar.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from export.samples import ExportSample

BLOCK = 512
RECORD = 20 * BLOCK  # tar pads the archive to whole records of 20 blocks
MAX_NAME_BYTES = 100  # ustar name field; ids are 24 characters, so no prefix field
MAX_SIZE = 8**11 - 1  # 11 octal digits
_ZEROS = bytes(BLOCK)

_TEMPLATE = bytearray(BLOCK)
_TEMPLATE[100:108] = b"0000644\0"  # mode
_TEMPLATE[108:116] = b"0000000\0"  # uid
_TEMPLATE[116:124] = b"0000000\0"  # gid
_TEMPLATE[136:148] = b"00000000000\0"  # mtime: the epoch, never the clock
_TEMPLATE[148:156] = b"        "  # checksum, counted as spaces
_TEMPLATE[156:157] = b"0"  # regular file
_TEMPLATE[257:265] = b"ustar\x0000"  # magic + version; uname, gname stay empty


def ustar_header(name: str, size: int) -> bytes:
    encoded = name.encode()
    if len(encoded) > MAX_NAME_BYTES:
        raise ValueError(f"tar member name over {MAX_NAME_BYTES} bytes: {name!r}")
    if not 0 <= size <= MAX_SIZE:
        raise ValueError(f"tar member too large for a ustar header: {size} bytes")
    header = bytearray(_TEMPLATE)
    header[: len(encoded)] = encoded
    header[124:136] = b"%011o\0" % size
    header[148:156] = b"%06o\0 " % sum(header)
    return bytes(header)


class TarStream:
    """Appends regular files to an open binary handle as a ustar archive.

    ``add_files`` writes a sample's files with one ``os.writev`` when the handle has a
    descriptor (an unbuffered file): header, bytes and padding of every member in one
    system call, the image never copied into a joined buffer.
    """

    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle
        self.offset = 0
        try:
            self._fd: int | None = handle.fileno()
        except (AttributeError, OSError, io.UnsupportedOperation):
            self._fd = None  # an in-memory handle: plain writes

    def add(self, name: str, data: bytes) -> None:
        self.add_files(((name, data),))

    def add_files(self, files: Iterable[tuple[str, bytes]]) -> None:
        buffers: list[bytes] = []
        for name, data in files:
            padding = -len(data) % BLOCK
            buffers.append(ustar_header(name, len(data)))
            buffers.append(data)
            if padding:
                buffers.append(_ZEROS[:padding])
            self.offset += BLOCK + len(data) + padding
        self._write(buffers)

    def close(self) -> None:
        end = 2 * BLOCK  # two zero blocks mark the end, then padding to a whole record
        self._write([bytes(end + -(self.offset + end) % RECORD)])

    def _write(self, buffers: list[bytes]) -> None:
        if self._fd is None:
            self.handle.write(b"".join(buffers))
            return
        total = sum(len(buffer) for buffer in buffers)
        written = os.writev(self._fd, buffers)
        if written < total:  # a short write (rare for files): the rest the plain way
            rest = memoryview(b"".join(buffers))[written:]
            while rest:
                rest = rest[os.write(self._fd, rest) :]


def write_samples(handle: BinaryIO, samples: Iterable[ExportSample]) -> int:
    tar = TarStream(handle)
    count = 0
    for sample in samples:
        tar.add_files((
            (f"{sample.key}.{sample.image_ext}", sample.image),
            (f"{sample.key}.json", sample.json_bytes()),
            (f"{sample.key}.txt", sample.text.encode()),
        ))
        count += 1
    tar.close()
    return count


class WebDatasetShardWriter:
    extension = "tar"

    def __init__(self, row_group_rows: int | None = None) -> None:
        del row_group_rows  # tars have no row groups; the registry passes it to all writers

    def write(self, path: Path, samples: Iterable[ExportSample]) -> int:
        """Write ``samples`` to ``path``; returns how many were written."""
        with open(path, "wb", buffering=0) as handle:  # TarStream writes whole samples
            return write_samples(handle, samples)
