"""Property tests: any Unicode text, in any supported format and encoding, reads back
exactly (so its statistics are the same), and any bytes give rows or one
``StatsInputError``, never another exception."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stats.inputs import (
    ReadOptions,
    StatsInputError,
    check_text_columns,
    iter_batches,
    open_input,
    scan_input,
)
from stats.text_stats import TextStatsExtractor

# Python strings may hold lone surrogates; no file encoding can (Arrow refuses them too).
ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
LINE_BREAKS = "\r\n"


def _csv(texts: list[str]) -> str:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(["id", "prompt"])
    writer.writerows([i, t] for i, t in enumerate(texts))
    return buffer.getvalue()


WRITERS: dict[str, tuple[str, Callable[[list[str]], str], str]] = {
    # suffix: (column, writer, characters a text of that format cannot hold)
    ".txt": ("text", lambda ts: "".join(t + "\n" for t in ts), LINE_BREAKS),
    ".tsv": ("prompt", lambda ts: "prompt\n" + "".join(t + "\n" for t in ts),
             LINE_BREAKS + "\t"),
    ".csv": ("prompt", _csv, ""),
    ".jsonl": ("prompt", lambda ts: "".join(json.dumps({"prompt": t}) + "\n" for t in ts), ""),
    ".json": ("prompt", lambda ts: json.dumps([{"prompt": t} for t in ts], ensure_ascii=False),
              ""),
}
_EXTRACTOR: list[TextStatsExtractor] = []


def _extractor() -> TextStatsExtractor:
    if not _EXTRACTOR:  # spaCy loads once for every example
        _EXTRACTOR.append(TextStatsExtractor())
    return _EXTRACTOR[0]


def _read(path: Path, column: str, options: ReadOptions | None = None) -> list[str | None]:
    item = open_input(path, options)
    check_text_columns([item], [column])
    scan_input(item, [column])
    texts: list[str | None] = []
    for table in iter_batches(item, [column], [column], batch_size=3):
        texts.extend(table.column(column).to_pylist())
    return texts


@settings(max_examples=150, deadline=None)
@given(
    texts=st.lists(ANY_TEXT, min_size=1, max_size=6),
    suffix=st.sampled_from([*WRITERS, ".parquet"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-32"]),
)
def test_any_text_reads_back_exactly_in_every_format(
    texts: list[str], suffix: str, encoding: str
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"p{suffix}"
        if suffix == ".parquet":
            column = "prompt"
            pq.write_table(pa.table({column: texts}), path)
        else:
            column, write, forbidden = WRITERS[suffix]
            texts = ["".join(c for c in t if c not in forbidden) for t in texts]
            path.write_bytes(write(texts).encode(encoding))
        assert _read(path, column) == texts


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(ANY_TEXT, min_size=1, max_size=4), suffix=st.sampled_from(list(WRITERS)))
def test_any_text_has_the_statistics_of_the_text_itself(texts: list[str], suffix: str) -> None:
    column, write, forbidden = WRITERS[suffix]
    texts = ["".join(c for c in t if c not in forbidden) for t in texts]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"p{suffix}"
        path.write_bytes(write(texts).encode("utf-8"))
        read = _read(path, column)
    assert _extractor().extract(read) == _extractor().extract(texts)


@settings(max_examples=300, deadline=None)
@given(
    content=st.binary(max_size=200),
    suffix=st.sampled_from([".txt", ".csv", ".tsv", ".jsonl", ".json", ".parquet",
                            ".jsonl.gz"]),
    invalid=st.sampled_from(["error", "replace"]),
)
def test_any_bytes_give_rows_or_one_clear_error(content: bytes, suffix: str, invalid) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"p{suffix}"
        path.write_bytes(content)
        column = "text" if suffix == ".txt" else "prompt"
        try:
            texts = _read(path, column, ReadOptions(invalid=invalid))
        except StatsInputError as error:
            assert "\n" not in str(error)  # the CLI prints it as one line
            return
        assert all(t is None or isinstance(t, str) for t in texts)
        assert not any(t and any(0xDC00 <= ord(c) <= 0xDCFF for c in t) for t in texts)
