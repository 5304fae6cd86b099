from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from stats.inputs import StatsInputError, check_text_columns, iter_batches, open_input


def _texts(path: Path, column: str, batch_size: int = 2) -> list:
    item = open_input(path)
    out = []
    for table in iter_batches(item, [column], [column], batch_size):
        assert table.schema.field(column).type == pa.string()
        assert table.num_rows <= batch_size
        out.extend(table.column(column).to_pylist())
    return out


def test_txt_one_text_per_line_keeps_empty_lines(tmp_path: Path) -> None:
    path = tmp_path / "prompts.txt"
    path.write_bytes(b"A dog.\r\n\nold mac line\rlast line without newline")
    assert _texts(path, "prompt") == ["A dog.", "", "old mac line", "last line without newline"]


def test_csv_text_column_is_text_whatever_it_looks_like(tmp_path: Path) -> None:
    path = tmp_path / "prompts.csv"
    path.write_text('id,prompt\n1,"A dog, on a mat."\n2,\n3,123\n4,true\n')
    assert _texts(path, "prompt") == ["A dog, on a mat.", "", "123", "true"]


def test_parquet_large_string_is_read_as_string(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"t": pa.array(["a", None, "c"], pa.large_string())}), path)
    assert _texts(path, "t") == ["a", None, "c"]


def test_missing_column_names_file_and_columns(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"caption": ["a"]}), path)
    with pytest.raises(StatsInputError, match=r"t\.parquet: no column \['prompt'\]"):
        check_text_columns([open_input(path)], ["prompt"])


def test_non_text_column_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"n": [1, 2]}), path)
    with pytest.raises(StatsInputError, match="column 'n' is int64, not text"):
        check_text_columns([open_input(path)], ["n"])


def test_txt_has_no_second_column(tmp_path: Path) -> None:
    path = tmp_path / "p.txt"
    path.write_text("x\n")
    check_text_columns([open_input(path)], ["anything"])
    with pytest.raises(StatsInputError, match="one text column"):
        check_text_columns([open_input(path)], ["a", "b"])


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.parquet", None, "input file not found"),
        ("data.xml", b"<a/>", "unknown input format '.xml'"),
        ("broken.parquet", b"nope", "cannot read"),
    ],
)
def test_bad_files_are_clear_errors(tmp_path: Path, name, content, message) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(StatsInputError, match=message):
        open_input(path)
