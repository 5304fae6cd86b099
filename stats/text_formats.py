"""Records of the text formats (TXT, CSV, TSV, JSON Lines, JSON arrays), numbered.

Each reader takes decoded lines (encodings.py) and yields ``(line, values)``: the line
a record starts on (its ``id`` in the statistics) and the values of the requested
columns, text or None. Every problem is a ``StatsInputError`` naming the file and the
line: a row with more or fewer fields than the header, an unterminated quote, a line
that is not JSON, a text field that is an object. Readers are run over a whole file
once before any work (``inputs.scan_input``), so such errors come before the work.

CSV goes through Python's ``csv`` module, not Arrow's: it takes newlines inside quoted
values in a file of any size and knows each record's line, which Arrow's block reader
does not (it lost sync on quoted newlines past its block size and named no line).
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from stats.encodings import DecodeCounts, Decoding, InvalidBytes, iter_lines
from stats.errors import StatsInputError

TEXT_FORMATS = ("txt", "csv", "tsv", "jsonl", "json")
Values = list[str | None]
# A caption can be long, a description longer; Python's default cap is 128 KiB.
csv.field_size_limit(1 << 26)


def csv_dialect(kind: str, delimiter: str | None) -> dict[str, object]:
    """``csv`` reader options. TSV is IANA's: no quoting, a tab or newline never inside a
    field; a tab-separated file with CSV quoting is ``--format csv --delimiter '\\t'``."""
    if kind == "tsv":
        return {"delimiter": delimiter or "\t", "quoting": csv.QUOTE_NONE, "strict": True}
    return {"delimiter": delimiter or ",", "quotechar": '"', "doublequote": True,
            "strict": True}


def read_header(
    path: Path, kind: str, decoding: Decoding, invalid: InvalidBytes, delimiter: str | None
) -> tuple[str, ...]:
    """A CSV/TSV file's column names (empty for a file with no lines)."""
    lines = (line for _, line in iter_lines(path, decoding, invalid, DecodeCounts()))
    reader = csv.reader(lines, **csv_dialect(kind, delimiter))
    try:
        for record in reader:
            if record:
                return tuple(record)
    except csv.Error as exc:
        raise StatsInputError(f"{path}:{reader.line_num}: malformed CSV header: {exc}") from exc
    return ()


def iter_records(
    path: Path,
    kind: str,
    decoding: Decoding,
    invalid: InvalidBytes,
    counts: DecodeCounts,
    columns: Sequence[str],
    delimiter: str | None = None,
    present: Counter[str] | None = None,
) -> Iterator[tuple[int, Values]]:
    """``(line, values of columns)`` for every record; ``present`` counts, per column,
    the records that have it (JSON records may lack a key; CSV rows never do)."""
    lines = iter_lines(path, decoding, invalid, counts)
    if kind == "txt":
        for number, line in lines:
            yield number, [line.rstrip("\r\n"), *([None] * (len(columns) - 1))]
    elif kind in ("csv", "tsv"):
        yield from _csv_records(path, lines, columns, csv_dialect(kind, delimiter), present)
    elif kind == "jsonl":
        yield from _jsonl_records(path, lines, columns, present)
    elif kind == "json":
        yield from _json_array_records(path, lines, columns, present)
    else:
        raise ValueError(f"not a text format: {kind}")


def _csv_records(
    path: Path,
    lines: Iterator[tuple[int, str]],
    columns: Sequence[str],
    dialect: dict[str, object],
    present: Counter[str] | None,
) -> Iterator[tuple[int, Values]]:
    reader = csv.reader((line for _, line in lines), **dialect)  # type: ignore[arg-type]
    header: list[str] | None = None
    index: list[int] = []
    start = 1
    try:
        for record in reader:
            line, start = start, reader.line_num + 1
            if not record:
                # One column: a blank line is an empty text, as in a TXT file. More: it
                # holds no fields at all, and is skipped as every CSV reader does.
                if header is None or len(header) > 1:
                    continue
                record = [""]
            if header is None:
                header = record
                # a duplicated name reads its first column (inputs.py warns about it)
                index = [header.index(c) for c in columns]
                continue
            if len(record) != len(header):
                raise StatsInputError(
                    f"{path}:{line}: row has {len(record)} fields, the header has "
                    f"{len(header)} (a ragged row: check the delimiter and the quoting)"
                )
            if present is not None:
                present.update(columns)
            yield line, [record[i] for i in index]
    except csv.Error as exc:
        raise StatsInputError(f"{path}:{reader.line_num}: malformed CSV: {exc}") from exc


def _jsonl_records(
    path: Path,
    lines: Iterable[tuple[int, str]],
    columns: Sequence[str],
    present: Counter[str] | None,
) -> Iterator[tuple[int, Values]]:
    for number, line in lines:
        if not line.strip():  # JSON Lines allows blank lines between records
            continue
        try:
            record = json.loads(line.rstrip("\r\n"))
        except json.JSONDecodeError as exc:
            raise StatsInputError(f"{path}:{number}: not JSON: {exc.msg} (column {exc.colno})"
                                  ) from exc
        yield number, _values(path, number, record, columns, present)


def _json_array_records(
    path: Path,
    lines: Iterable[tuple[int, str]],
    columns: Sequence[str],
    present: Counter[str] | None,
) -> Iterator[tuple[int, Values]]:
    """A ``.json`` file holding one array of records; ids are 1-based positions."""
    text = "".join(line for _, line in lines)
    try:
        records = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StatsInputError(f"{path}:{exc.lineno}: not JSON: {exc.msg} (column {exc.colno})"
                              ) from exc
    if not isinstance(records, list):
        raise StatsInputError(f"{path}: a .json input holds one array of records or JSON "
                              f"Lines, not a {type(records).__name__}")
    for position, record in enumerate(records, start=1):
        yield position, _values(path, position, record, columns, present, "record")


def _values(
    path: Path,
    number: int,
    record: object,
    columns: Sequence[str],
    present: Counter[str] | None,
    unit: str = "line",
) -> Values:
    where = f"{path}:{number}" if unit == "line" else f"{path}: record {number}"
    if isinstance(record, str):  # a bare string is the record's one text
        if present is not None:
            present.update(columns[:1])
        return [record, *([None] * (len(columns) - 1))]
    if not isinstance(record, dict):
        raise StatsInputError(f"{where}: a record is an object or a string, "
                              f"not {_json_kind(record)}")
    values: Values = []
    for column in columns:
        if column in record and present is not None:
            present[column] += 1
        value = record.get(column)
        if value is None or isinstance(value, str):
            values.append(value)
        elif isinstance(value, bool | int | float):
            values.append(json.dumps(value))  # as a CSV would hold it: "12", "true"
        else:
            raise StatsInputError(f"{where}: {column!r} is {_json_kind(value)}, not text")
    return values


def _json_kind(value: object) -> str:
    return {dict: "an object", list: "an array"}.get(type(value), type(value).__name__)
