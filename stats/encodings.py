"""Text files as numbered, decoded lines: compression, encoding, invalid bytes.

One rule for every text format (TXT, CSV, TSV, JSON Lines):

* the encoding is ``--encoding`` when given; otherwise a byte-order mark decides
  (UTF-8, UTF-16, UTF-32; the mark is dropped), then the NUL-byte pattern of UTF-16
  without a mark, else UTF-8;
* bytes the encoding cannot decode are an error naming the file, the line and the
  column (with a guess at the file's real encoding), or with ``invalid="replace"``
  each becomes U+FFFD and is counted;
* lines end at ``\\n``, ``\\r\\n`` or ``\\r`` only: U+2028, U+0085 and the like are
  characters inside a text, as every CSV and JSON reader sees them.

The decoder marks each undecodable byte as a lone surrogate (U+DC00 + byte), which no
valid input decodes to, so the line and column of every bad byte are known exactly
and nothing is guessed from a decoder's internal buffer position.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pyarrow as pa

from stats.errors import StatsInputError

InvalidBytes = Literal["error", "replace"]
INVALID_CHOICES: tuple[InvalidBytes, ...] = ("error", "replace")
COMPRESSION_SUFFIXES = {".gz": "gzip", ".gzip": "gzip", ".zst": "zstd", ".zstd": "zstd",
                        ".bz2": "bz2"}
_CHUNK_BYTES = 1 << 20
# Bytes looked at to tell the encoding (and, for an error, to guess the real one).
_SNIFF_BYTES = 1 << 16
_MARK_ERRORS = "paraimage.mark"
_MARKED = re.compile("[\udc00-\udcff]+")
# A line and its ending; a lone "\r" at a chunk's end may be half of "\r\n".
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)")
_BOMS = (  # UTF-32's marks begin with UTF-16's: look for them first
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _mark(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start : error.end]
    return "".join(chr(0xDC00 + b) for b in bad), error.end


codecs.register_error(_MARK_ERRORS, _mark)


@dataclass(frozen=True)
class Decoding:
    """How a file's bytes become text: the codec and why it was chosen."""

    encoding: str
    reason: str  # "--encoding", "byte-order mark", "UTF-16 NUL pattern", "default"

    @property
    def label(self) -> str:
        return _display_name(self.encoding)


@dataclass
class DecodeCounts:
    """What reading a file replaced (``invalid="replace"``)."""

    replaced_bytes: int = 0
    lines_with_replacements: list[int] = field(default_factory=list)


def compression_of(path: Path) -> str | None:
    return COMPRESSION_SUFFIXES.get(path.suffix.lower())


def open_bytes(path: Path) -> pa.NativeFile:
    """The file's bytes, decompressed when its name ends in a compression suffix."""
    try:
        return pa.input_stream(str(path), compression=compression_of(path))
    except (OSError, pa.ArrowException) as exc:
        raise StatsInputError(f"cannot read {path}: {exc}") from exc


def read_head(path: Path, size: int = _SNIFF_BYTES) -> bytes:
    with open_bytes(path) as stream:
        try:
            return stream.read(size)
        except (OSError, pa.ArrowException) as exc:
            raise StatsInputError(f"cannot read {path}: {exc}") from exc


def choose_decoding(path: Path, encoding: str | None) -> Decoding:
    """The decoding of ``path``: ``encoding`` if given (checked), else detected."""
    head = read_head(path)
    if encoding:
        try:
            name = codecs.lookup(encoding).name
        except LookupError as exc:
            raise StatsInputError(f"unknown encoding {encoding!r} (--encoding)") from exc
        if name == "utf-8":  # a UTF-8 file's mark is never part of its first text
            name = "utf-8-sig"
        return Decoding(name, "--encoding")
    for bom, name in _BOMS:
        if head.startswith(bom):
            return Decoding(name, "byte-order mark")
    utf16 = _utf16_without_bom(head)
    if utf16:
        return Decoding(utf16, "UTF-16 NUL pattern")
    return Decoding("utf-8-sig", "default")


def _utf16_without_bom(head: bytes) -> str | None:
    """UTF-16 text of mostly ASCII characters has a NUL in every other byte."""
    pairs = len(head) // 2
    if pairs < 2:
        return None
    even_nuls = head[0 : 2 * pairs : 2].count(0)
    odd_nuls = head[1 : 2 * pairs : 2].count(0)
    if odd_nuls > 0.4 * pairs and even_nuls < 0.05 * pairs:
        return "utf-16-le"
    if even_nuls > 0.4 * pairs and odd_nuls < 0.05 * pairs:
        return "utf-16-be"
    return None


def iter_lines(
    path: Path, decoding: Decoding, invalid: InvalidBytes, counts: DecodeCounts
) -> Iterator[tuple[int, str]]:
    """``(line number from 1, line with its ending)`` of the whole file."""
    decoder = codecs.getincrementaldecoder(decoding.encoding)(errors=_MARK_ERRORS)
    number = 0
    pending = ""
    with open_bytes(path) as stream:
        while True:
            try:
                chunk = stream.read(_CHUNK_BYTES)
            except (OSError, pa.ArrowException) as exc:
                raise StatsInputError(f"cannot read {path} after line {number}: {exc}") from exc
            text = pending + decoder.decode(chunk, final=not chunk)
            end = 0
            for match in _LINE.finditer(text):
                line = match.group()
                if chunk and line.endswith("\r") and match.end() == len(text):
                    break  # may be "\r\n" split across chunks: wait for the next one
                end = match.end()
                number += 1
                yield number, _checked(line, number, path, decoding, invalid, counts)
            pending = text[end:]
            if not chunk:
                break
    if pending:  # the last line, without an ending
        number += 1
        yield number, _checked(pending, number, path, decoding, invalid, counts)


def _checked(
    line: str, number: int, path: Path, decoding: Decoding, invalid: InvalidBytes,
    counts: DecodeCounts,
) -> str:
    first = _MARKED.search(line)
    if first is None:
        return line
    if invalid == "error":
        bad = bytes(ord(c) - 0xDC00 for c in first.group())
        raise StatsInputError(
            f"{path}:{number}: invalid {decoding.label} bytes {bad!r} at column "
            f"{first.start() + 1} ({_advice(path, decoding)})"
        )
    replaced = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal replaced
        replaced += len(match.group())
        return "\ufffd" * len(match.group())

    line = _MARKED.sub(replace, line)
    counts.replaced_bytes += replaced
    counts.lines_with_replacements.append(number)
    return line


def _advice(path: Path, decoding: Decoding) -> str:
    guess = guess_encoding(read_head(path))
    hint = "" if guess is None or guess == decoding.encoding else (
        f"it looks like {_display_name(guess)}: pass --encoding {_display_name(guess)}, or "
    )
    if not hint:
        hint = "pass --encoding ENCODING, or "
    return hint + "--invalid-bytes replace to count and replace them"


def guess_encoding(sample: bytes) -> str | None:
    """charset-normalizer's best guess at a sample's encoding (a codec name)."""
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    return None if best is None else codecs.lookup(best.encoding).name


def _display_name(encoding: str) -> str:
    return {"utf-8-sig": "UTF-8", "utf-8": "UTF-8", "utf-16": "UTF-16", "utf-16-le": "UTF-16LE",
            "utf-16-be": "UTF-16BE", "utf-32": "UTF-32"}.get(encoding, encoding)
