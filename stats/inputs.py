"""Text inputs for the standalone command: Parquet, CSV, TSV, TXT, JSON Lines, read in batches.

Formats by extension (``--format`` overrides): ``.parquet``/``.pq``; ``.csv``; ``.tsv``/
``.tab``; ``.txt`` (one text per line); ``.jsonl``/``.ndjson``, and ``.json`` holding
either JSON Lines or one array of records. Text formats may be compressed (``.gz``,
``.zst``, ``.bz2``). A folder stands for the files in it (a Hugging Face ``datasets``
Parquet export: ``data/train-00000-of-00002.parquet`` ... is source ``NAME/train``).

Every reader streams, so a file larger than memory is fine. Problems a user can fix
(missing file, unknown format, bad encoding, a ragged row, missing or non-text
column) raise ``StatsInputError`` naming the file (and line) before any work starts:
``scan_input`` reads every text file once up front. The CLI turns it into exit code 2.

Rows keep their origin: a text file's rows get their line number as ``id`` (a JSON
array's, the record's position), a Parquet file's its ``id`` column or row number.
Only our own manifests (Parquet with ``paraimage.schema_version`` metadata) carry their
``source`` and ``status`` through; in any other file a ``status`` column is just a
column, every row is counted and the source is the file (``caption_model`` and
``short_edge`` columns, where a file has them, still group and size its rows).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from stats.encodings import (
    INVALID_CHOICES,
    DecodeCounts,
    Decoding,
    InvalidBytes,
    choose_decoding,
    compression_of,
    iter_lines,
)
from stats.errors import StatsInputError
from stats.text_formats import TEXT_FORMATS, iter_records, read_header

__all__ = ["INVALID_CHOICES", "StatsInputError"]

FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "tsv",
           ".tab": "tsv", ".txt": "txt", ".jsonl": "jsonl", ".ndjson": "jsonl",
           ".json": "json"}
FORMAT_CHOICES = ("parquet", *TEXT_FORMATS)
# The one column a TXT file has (one text per line) when no other name is given.
TXT_COLUMN = "text"
ID_COLUMN = "id"
# Columns another file's rows may carry into the tables (grouping by captioner, the
# images' short side). Never ``status`` or ``source``: those are a manifest's own.
USER_COLUMNS = ("caption_model", "short_edge")
MANIFEST_METADATA_KEY = b"paraimage.schema_version"
_TEXT_TYPES = (pa.string(), pa.large_string(), pa.string_view())
# Hugging Face Parquet exports: SPLIT-00000-of-00004.parquet, or SPLIT/0000.parquet.
_HF_SHARD = re.compile(r"^(?P<split>.+?)-\d{5}-of-\d{5}$")
_NUMBERED_SHARD = re.compile(r"^\d+$")


@dataclass(frozen=True)
class ReadOptions:
    """How text files are read: the CLI's ``--encoding``, ``--invalid-bytes``,
    ``--delimiter`` and ``--format``."""

    encoding: str | None = None
    invalid: InvalidBytes = "error"
    delimiter: str | None = None
    format: str | None = None


@dataclass(frozen=True)
class InputFile:
    path: Path
    format: str
    columns: tuple[str, ...]
    label: str = ""  # the source name its rows get; the file's name by default
    decoding: Decoding | None = None  # text formats
    delimiter: str | None = None
    invalid: InvalidBytes = "error"
    is_manifest: bool = False

    @property
    def name(self) -> str:
        return self.label or base_name(self.path)


@dataclass
class ScanResult:
    """What reading a whole file found: rows, and per text column the rows that had no
    value (a JSON record without the key, a null)."""

    rows: int = 0
    missing: Counter[str] = field(default_factory=Counter)
    present: Counter[str] = field(default_factory=Counter)
    decode: DecodeCounts = field(default_factory=DecodeCounts)


def base_name(path: Path) -> str:
    """``prompts`` for prompts.txt, prompts.jsonl.gz, prompts.parquet."""
    name = path.name
    if compression_of(path):
        name = name[: -len(path.suffix)]
    stem, dot, suffix = name.rpartition(".")
    return stem if dot and f".{suffix.lower()}" in FORMATS else name


def format_of(path: Path, override: str | None = None) -> str:
    if override:
        if override not in FORMAT_CHOICES:
            raise StatsInputError(f"unknown --format {override!r} (expected one of "
                                  f"{list(FORMAT_CHOICES)})")
        return override
    suffixes = [s.lower() for s in path.suffixes[-2:]]
    if compression_of(path):
        suffixes = suffixes[:-1]
    fmt = FORMATS.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        raise StatsInputError(
            f"unknown input format {path.suffix!r} for {path} (expected one of "
            f"{sorted(FORMATS)}, optionally compressed .gz/.zst/.bz2, or --format)"
        )
    if fmt == "parquet" and compression_of(path):
        raise StatsInputError(f"{path}: a Parquet file is not compressed from outside")
    return fmt


def open_input(
    path: Path,
    options: ReadOptions | None = None,
    label: str | None = None,
    manifest: bool | None = None,
) -> InputFile:
    """``manifest``: whether a Parquet file is one of our manifests (a run's are, by
    where they lie); None reads it from the file's metadata."""
    options = options or ReadOptions()
    if not path.is_file():
        raise StatsInputError(f"input file not found: {path}")
    fmt = format_of(path, options.format)
    if fmt == "parquet":
        try:
            schema = pq.read_schema(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise StatsInputError(f"cannot read {path}: {exc}") from exc
        is_manifest = (MANIFEST_METADATA_KEY in (schema.metadata or {}) if manifest is None
                       else manifest)
        return InputFile(path, fmt, tuple(schema.names), label or base_name(path),
                         is_manifest=is_manifest)
    decoding = choose_decoding(path, options.encoding)
    if options.delimiter is not None and fmt not in ("csv", "tsv"):
        raise StatsInputError(f"--delimiter is for CSV and TSV files, not {path} ({fmt})")
    if options.delimiter is not None and len(options.delimiter) != 1:
        raise StatsInputError(f"--delimiter must be one character, not {options.delimiter!r}")
    if fmt == "json":
        fmt = _json_layout(path, decoding, options.invalid)
    item = InputFile(path, fmt, (), label or base_name(path), decoding, options.delimiter,
                     options.invalid)
    return replace(item, columns=_columns(item))


def _json_layout(path: Path, decoding: Decoding, invalid: InvalidBytes) -> str:
    """A ``.json`` file is one array (``[`` first) or JSON Lines (anything else)."""
    for _, line in iter_lines(path, decoding, invalid, DecodeCounts()):
        if line.strip():
            return "json" if line.lstrip().startswith("[") else "jsonl"
    return "jsonl"


def _columns(item: InputFile) -> tuple[str, ...]:
    assert item.decoding is not None
    if item.format == "txt":
        return (TXT_COLUMN,)
    if item.format in ("csv", "tsv"):
        return read_header(item.path, item.format, item.decoding, item.invalid, item.delimiter)
    # JSON: the keys of the first record, to name in messages; records may differ.
    if item.format == "jsonl":
        import json

        for _, line in iter_lines(item.path, item.decoding, item.invalid, DecodeCounts()):
            if line.strip():
                try:
                    first = json.loads(line)
                except ValueError:
                    return ()  # the scan names the line
                return tuple(first) if isinstance(first, dict) else (TXT_COLUMN,)
    return ()


def expand_inputs(paths: Sequence[Path]) -> tuple[list[tuple[Path, str | None]], list[str]]:
    """The files the ``--input`` paths stand for, each with a source name for folder
    members (None: named later by ``label_inputs``), and warnings: a file given twice
    is read once. A folder contributes its Parquet and text files, recursively."""
    files: list[tuple[Path, str | None]] = []
    warnings: list[str] = []
    seen: dict[Path, Path] = {}
    for path in paths:
        members = _folder_members(path) if path.is_dir() else [(path, None)]
        for member, label in members:
            key = member.resolve() if member.exists() else member
            if key in seen:
                warnings.append(f"{member} is given twice (as {seen[key]}): read once")
                continue
            seen[key] = member
            files.append((member, label))
    return files, warnings


def _folder_members(folder: Path) -> list[tuple[Path, str]]:
    members = sorted(
        p for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        and _known_format(p)
    )
    if not members:
        raise StatsInputError(f"{folder}: no Parquet or text files in this folder "
                              f"(looked for {sorted(FORMATS)})")
    return [(p, f"{folder.name}/{_member_source(folder, p)}") for p in members]


def _known_format(path: Path) -> bool:
    try:
        format_of(path)
    except StatsInputError:
        return False
    return True


def _member_source(folder: Path, path: Path) -> str:
    """One source per split of a datasets export, else one per file."""
    stem = base_name(path)
    shard = _HF_SHARD.match(stem)
    if shard:
        return shard.group("split")
    relative = path.relative_to(folder)
    if _NUMBERED_SHARD.match(stem) and len(relative.parts) > 1:
        return relative.parent.as_posix()  # default/train/0000.parquet -> default/train
    return relative.with_name(stem).as_posix()


def label_inputs(files: Sequence[tuple[Path, str | None]]) -> tuple[list[str], list[str]]:
    """A distinct source name per file: its name, or as many of its parent folders as
    tell it apart from another file of that name; and a warning for each such clash."""
    labels = [label or base_name(path) for path, label in files]
    warnings = []
    for name, count in Counter(labels).items():
        if count < 2:
            continue
        clashing = [i for i, label in enumerate(labels) if label == name]
        paths = [files[i][0] for i in clashing]
        if all(files[i][1] is not None for i in clashing):
            continue  # shards of one split share their source on purpose
        renamed = _distinct_names([p for p in paths], name)
        for i, new in zip(clashing, renamed, strict=True):
            labels[i] = new
        warnings.append(f"{count} inputs are named {name!r} ({', '.join(map(str, paths))}): "
                        f"their sources are {', '.join(repr(n) for n in renamed)}")
    return labels, warnings


def _distinct_names(paths: Sequence[Path], name: str) -> list[str]:
    parents = [p.resolve().parent.parts for p in paths]
    for depth in range(1, max(len(p) for p in parents) + 1):
        names = [
            "/".join([*part[len(part) - depth:], name]) if depth <= len(part) else name
            for part in parents
        ]
        if len(set(names)) == len(names):
            return names
    return [f"{name}-{i + 1}" for i in range(len(paths))]  # the same file under two links


def check_text_columns(inputs: Sequence[InputFile], columns: Sequence[str]) -> None:
    """Every input must have every text column, as text; the message names all misses.

    A TXT file's lines serve as the first text column whatever it is called, so TXT and
    CSV files can be read together; a TXT file has no second column. JSON records may
    differ in their keys: ``scan_input`` checks that some record has each column.
    """
    problems = []
    for item in inputs:
        if item.format == "txt":
            if len(columns) > 1:
                problems.append(f"{item.path}: a TXT file has one text column, not {columns}")
            continue
        if item.format in ("jsonl", "json"):
            continue
        missing = [c for c in columns if c not in item.columns]
        if missing:
            problems.append(f"{item.path}: no column {missing} (has {list(item.columns)})")
        elif item.format == "parquet":
            schema = pq.read_schema(item.path)
            for column in columns:
                kind = schema.field(column).type
                if not _is_text_type(kind):
                    problems.append(f"{item.path}: column {column!r} is {kind}, not text")
    if problems:
        raise StatsInputError("; ".join(problems))


def duplicate_columns(item: InputFile) -> list[str]:
    return sorted(name for name, n in Counter(item.columns).items() if n > 1)


def _is_text_type(kind: pa.DataType) -> bool:
    if pa.types.is_dictionary(kind):  # a pandas categorical
        kind = kind.value_type
    return kind in _TEXT_TYPES or pa.types.is_null(kind)


def scan_input(item: InputFile, text_columns: Sequence[str]) -> ScanResult:
    """Reads a text file once, whole, with the same code as ``iter_batches``: every
    error it can raise is raised here, before any work, and the rows are counted."""
    result = ScanResult()
    if item.format == "parquet":
        result.rows = pq.ParquetFile(item.path).metadata.num_rows
        return result
    assert item.decoding is not None
    for _, values in iter_records(item.path, item.format, item.decoding, item.invalid,
                                  result.decode, text_columns, item.delimiter,
                                  result.present):
        result.rows += 1
        for column, value in zip(text_columns, values, strict=True):
            if value is None:
                result.missing[column] += 1
    if item.format in ("jsonl", "json") and result.rows:
        absent = [c for c in text_columns[:1] if not result.present[c]]
        if absent:
            keys = f" (the first record has {list(item.columns)})" if item.columns else ""
            raise StatsInputError(f"{item.path}: no record has the key {absent[0]!r}{keys}")
    return result


def iter_batches(
    item: InputFile, columns: Sequence[str], text_columns: Sequence[str], batch_size: int
) -> Iterator[pa.Table]:
    """Tables of at most ``batch_size`` rows with ``id``, the text columns (text, as
    ``string``) and those of ``columns`` the file has and may carry (a manifest: all;
    another file: ``USER_COLUMNS``). A TXT file's lines come back as the first text
    column."""
    if item.format == "parquet":
        yield from _parquet_batches(item, columns, text_columns, batch_size)
        return
    assert item.decoding is not None
    read = [*text_columns, *(c for c in columns if c in USER_COLUMNS and c in item.columns
                             and c not in text_columns)]
    ids: list[str] = []
    values: list[list[str | None]] = [[] for _ in read]
    for number, record in iter_records(item.path, item.format, item.decoding, item.invalid,
                                       DecodeCounts(), read, item.delimiter):
        ids.append(str(number))
        for column, value in zip(values, record, strict=True):
            column.append(value)
        if len(ids) >= batch_size:
            yield _text_table(ids, values, read)
            ids, values = [], [[] for _ in read]
    if ids:
        yield _text_table(ids, values, read)


def _text_table(
    ids: list[str], values: list[list[str | None]], text_columns: Sequence[str]
) -> pa.Table:
    arrays = {ID_COLUMN: pa.array(ids, pa.string())}
    for name, column in zip(text_columns, values, strict=True):
        arrays[name] = pa.array(column, pa.string())
    return pa.table(arrays)


def _parquet_batches(
    item: InputFile, columns: Sequence[str], text_columns: Sequence[str], batch_size: int
) -> Iterator[pa.Table]:
    if item.is_manifest:
        wanted = [c for c in columns if c in item.columns]
    else:  # the row's id, the texts and USER_COLUMNS: any other column is the user's own
        carried = [c for c in columns if c in USER_COLUMNS]
        wanted = [c for c in (ID_COLUMN, *text_columns, *carried) if c in item.columns]
        wanted = list(dict.fromkeys(wanted))
    parquet = pq.ParquetFile(item.path)
    row = 0
    for batch in parquet.iter_batches(batch_size=batch_size, columns=wanted):
        table = _as_text(pa.Table.from_batches([batch]), text_columns)
        if not item.is_manifest:
            table = _with_id(table, row)
        row += table.num_rows
        yield table


def _with_id(table: pa.Table, first_row: int) -> pa.Table:
    """The file's ``id`` column as text, or the 1-based row number where it has none."""
    if ID_COLUMN in table.column_names:
        ids = table.column(ID_COLUMN)
        try:
            ids = ids.cast(pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise StatsInputError(f"column 'id' cannot be read as text: {exc}") from exc
        return table.set_column(table.column_names.index(ID_COLUMN), ID_COLUMN, ids)
    numbers = pa.array([str(first_row + k + 1) for k in range(table.num_rows)], pa.string())
    return table.add_column(0, ID_COLUMN, numbers)


def _as_text(table: pa.Table, text_columns: Sequence[str]) -> pa.Table:
    for column in text_columns:
        if column in table.column_names and table.schema.field(column).type != pa.string():
            index = table.column_names.index(column)
            table = table.set_column(index, column, table.column(column).cast(pa.string()))
    return table
