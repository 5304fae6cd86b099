"""Text inputs for the standalone command: Parquet, CSV or TXT files, read in batches.

Every reader streams (Parquet row groups, CSV blocks, TXT lines), so a file larger
than memory is fine. Problems a user can fix (missing file, unknown format, missing
or non-text column) raise ``StatsInputError`` before any work starts; the CLI turns
it into exit code 2.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".txt": "txt"}
# The one column a TXT file has (one text per line) when no other name is given.
TXT_COLUMN = "text"
_TEXT_TYPES = (pa.string(), pa.large_string(), pa.string_view())


class StatsInputError(ValueError):
    """Input the user must fix: named file, column or query, never a traceback."""


@dataclass(frozen=True)
class InputFile:
    path: Path
    format: str
    columns: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.path.stem


def open_input(path: Path) -> InputFile:
    if not path.is_file():
        raise StatsInputError(f"input file not found: {path}")
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise StatsInputError(
            f"unknown input format {path.suffix!r} for {path} (expected one of {sorted(FORMATS)})"
        )
    if fmt == "txt":
        return InputFile(path, fmt, (TXT_COLUMN,))
    try:
        if fmt == "parquet":
            names = tuple(pq.read_schema(path).names)
        else:
            names = tuple(_csv_reader(path, None).schema.names)
    except (pa.ArrowInvalid, OSError) as exc:
        raise StatsInputError(f"cannot read {path}: {exc}") from exc
    return InputFile(path, fmt, names)


def check_text_columns(inputs: Sequence[InputFile], columns: Sequence[str]) -> None:
    """Every input must have every text column, as text; the message names all misses.

    A TXT file's lines serve as the first text column whatever it is called, so TXT and
    CSV files can be read together; a TXT file has no second column.
    """
    problems = []
    for item in inputs:
        if item.format == "txt":
            if len(columns) > 1:
                problems.append(f"{item.path}: a TXT file has one text column, not {columns}")
            continue
        missing = [c for c in columns if c not in item.columns]
        if missing:
            problems.append(f"{item.path}: no column {missing} (has {list(item.columns)})")
        elif item.format == "parquet":
            schema = pq.read_schema(item.path)
            for column in columns:
                kind = schema.field(column).type
                if kind not in _TEXT_TYPES and not pa.types.is_null(kind):
                    problems.append(f"{item.path}: column {column!r} is {kind}, not text")
    if problems:
        raise StatsInputError("; ".join(problems))


def iter_batches(
    item: InputFile, columns: Sequence[str], text_columns: Sequence[str], batch_size: int
) -> Iterator[pa.Table]:
    """Tables of at most ``batch_size`` rows holding those of ``columns`` the file has;
    text columns come back as ``string`` whatever the file stored. A TXT file's lines
    come back as the first text column."""
    present = [c for c in columns if c in item.columns]
    if item.format == "parquet":
        parquet = pq.ParquetFile(item.path)
        for batch in parquet.iter_batches(batch_size=batch_size, columns=present):
            yield _as_text(pa.Table.from_batches([batch]), text_columns)
    elif item.format == "csv":
        reader = _csv_reader(item.path, present, text_columns)
        for batch in reader:
            for start in range(0, batch.num_rows, batch_size):
                yield pa.Table.from_batches([batch.slice(start, batch_size)])
    else:
        yield from _txt_batches(item.path, batch_size, text_columns[0])


def _as_text(table: pa.Table, text_columns: Sequence[str]) -> pa.Table:
    for column in text_columns:
        if column in table.column_names and table.schema.field(column).type != pa.string():
            index = table.column_names.index(column)
            table = table.set_column(index, column, table.column(column).cast(pa.string()))
    return table


def _csv_reader(
    path: Path, include: Sequence[str] | None, text_columns: Sequence[str] = ()
) -> pacsv.CSVStreamingReader:
    # Text columns are read as strings whatever they look like ("1", "true", ""), and an
    # empty field is an empty text, not a null: only a missing column is "no text".
    convert = pacsv.ConvertOptions(
        column_types={c: pa.string() for c in text_columns},
        include_columns=list(include) if include is not None else None,
        strings_can_be_null=False,
    )
    return pacsv.open_csv(path, convert_options=convert)


def _txt_batches(path: Path, batch_size: int, column: str) -> Iterator[pa.Table]:
    # One text per line; an empty line is an empty text; bytes that are not UTF-8 become
    # U+FFFD rather than stopping the run.
    lines: list[str] = []
    with path.open(encoding="utf-8", errors="replace", newline=None) as handle:
        for line in handle:
            lines.append(line.rstrip("\n"))
            if len(lines) >= batch_size:
                yield pa.table({column: pa.array(lines, pa.string())})
                lines = []
    if lines:
        yield pa.table({column: pa.array(lines, pa.string())})
