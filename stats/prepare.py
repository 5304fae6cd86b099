"""Everything ``paraimage stats --input`` checks before it tags a single text.

The files the paths stand for, one distinct source name each, the text columns, and
one full read of every text file (``inputs.scan_input``): a bad encoding, a ragged
row or a missing column stops the command here, with the file and line named, and
never after a minute of work. What the read found (rows, rows without text, replaced
bytes, manifests whose non-kept rows the tables leave out) becomes the report's
"Inputs" section and the console's warnings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from stats.errors import StatsInputError
from stats.inputs import (
    TXT_COLUMN,
    InputFile,
    ReadOptions,
    ScanResult,
    check_text_columns,
    duplicate_columns,
    expand_inputs,
    label_inputs,
    open_input,
    scan_input,
)

# Lines named in a warning about replaced bytes; the rest are counted.
_LINES_NAMED = 5


@dataclass(frozen=True)
class InputSummary:
    """One input file as the report's "Inputs" table shows it."""

    path: Path
    source: str
    format: str
    encoding: str
    rows: int
    rows_without_text: int
    replaced_bytes: int
    kept_rows: int | None = None  # manifests: the rows the tables count

    @property
    def counted_rows(self) -> int:
        return self.rows if self.kept_rows is None else self.kept_rows


@dataclass
class PreparedInputs:
    inputs: list[InputFile]
    text_column: str
    alt_column: str | None
    summaries: list[InputSummary]
    warnings: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.summaries)

    @property
    def filtered(self) -> bool:
        return any(s.kept_rows is not None and s.kept_rows < s.rows for s in self.summaries)

    def counting_note(self) -> str:
        """Which rows the tables count, in one sentence (report and console)."""
        counted = sum(s.counted_rows for s in self.summaries)
        manifests = [s for s in self.summaries if s.kept_rows is not None]
        if not manifests:
            return f"Every row of the inputs is counted: {counted} rows."
        names = ", ".join(s.path.name for s in manifests[:3]) + (
            " ..." if len(manifests) > 3 else "")
        return (f"{counted} of {self.rows} rows are counted: {names} "
                f"{'is a paraimage manifest' if len(manifests) == 1 else 'are paraimage manifests'}"
                ", whose tables count kept rows only (the funnel has the rest); every row of "
                "the other inputs is counted.")


def prepare_inputs(
    paths: Sequence[Path],
    options: ReadOptions,
    text_column: str | None,
    alt_column: str | None,
) -> PreparedInputs:
    files, warnings = expand_inputs(paths)
    labels, clashes = label_inputs(files)
    warnings += clashes
    inputs = [open_input(path, options, label)
              for (path, _), label in zip(files, labels, strict=True)]
    column = text_column or _default_text_column(inputs)
    columns = [column] + ([alt_column] if alt_column else [])
    for item in inputs:
        duplicated = [c for c in duplicate_columns(item)]
        if duplicated:
            warnings.append(f"{item.path}: the header repeats {duplicated}: the first "
                            "column of each name is read")
    check_text_columns(inputs, columns)
    summaries = []
    for item in inputs:
        scan = scan_input(item, columns)
        summaries.append(_summary(item, scan, columns))
        warnings += _scan_warnings(item, scan, columns)
    return PreparedInputs(inputs, column, alt_column, summaries, warnings)


def _default_text_column(inputs: Sequence[InputFile]) -> str:
    if all(item.format == "txt" for item in inputs):
        return TXT_COLUMN
    first = next(item for item in inputs if item.format != "txt")
    has = f" ({first.path.name} has {list(first.columns)})" if first.columns else ""
    raise StatsInputError(f"--input needs --text-column COL{has}")


def _summary(item: InputFile, scan: ScanResult, columns: Sequence[str]) -> InputSummary:
    kept = None
    if item.is_manifest and "status" in item.columns:
        status = pq.read_table(item.path, columns=["status"]).column("status")
        kept = int(pc.sum(pc.equal(status, "kept")).as_py() or 0)
    if item.format == "parquet":
        column = pq.read_table(item.path, columns=[columns[0]]).column(columns[0])
        without_text = column.null_count
    else:
        without_text = scan.missing[columns[0]]
    return InputSummary(
        path=item.path,
        source=item.name,
        format=item.format,
        encoding=item.decoding.label if item.decoding else "Parquet",
        rows=scan.rows,
        rows_without_text=without_text,
        replaced_bytes=scan.decode.replaced_bytes,
        kept_rows=kept,
    )


def _scan_warnings(item: InputFile, scan: ScanResult, columns: Sequence[str]) -> list[str]:
    warnings = []
    lines = scan.decode.lines_with_replacements
    if lines:
        named = ", ".join(map(str, lines[:_LINES_NAMED])) + (
            f" and {len(lines) - _LINES_NAMED} more" if len(lines) > _LINES_NAMED else "")
        assert item.decoding is not None
        warnings.append(f"{item.path}: {scan.decode.replaced_bytes} invalid "
                        f"{item.decoding.label} bytes replaced by U+FFFD on lines {named}")
    if item.format in ("jsonl", "json"):
        for column in columns:
            if scan.missing[column]:
                warnings.append(f"{item.path}: {scan.missing[column]} of {scan.rows} records "
                                f"have no {column!r} (missing or null): rows without that text")
    return warnings
