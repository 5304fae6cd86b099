"""The inputs people have: formats, encodings, malformed files, names (no spaCy here)."""

from __future__ import annotations

import bz2
import gzip
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from stats.inputs import (
    ReadOptions,
    StatsInputError,
    check_text_columns,
    expand_inputs,
    iter_batches,
    label_inputs,
    open_input,
    scan_input,
)

TEXTS = ["A dog sits on the red mat.", "Two cats, one \"grey\".", "", "café au lait"]


def _rows(path: Path, column: str = "prompt", options: ReadOptions | None = None,
          extra: tuple[str, ...] = ()) -> list[tuple[str, str | None]]:
    item = open_input(path, options)
    scan_input(item, [column])
    out = []
    for table in iter_batches(item, ["id", column, *extra], [column], batch_size=2):
        out.extend(zip(table.column("id").to_pylist(), table.column(column).to_pylist(),
                       strict=True))
    return out


def _jsonl(texts: list[str]) -> str:
    return "".join(json.dumps({"prompt": t, "n": i}) + "\n" for i, t in enumerate(texts))


def test_jsonl_records_keep_their_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text('{"prompt": "a dog"}\n\n"a bare string"\n{"prompt": null}\n{"other": 1}\n'
                    '{"prompt": 12}\n')
    assert _rows(path) == [("1", "a dog"), ("3", "a bare string"), ("4", None), ("5", None),
                           ("6", "12")]


@pytest.mark.parametrize("suffix", [".jsonl.gz", ".jsonl.zst", ".jsonl.bz2", ".json"])
def test_compressed_and_json_named_lines_read_the_same(tmp_path: Path, suffix: str) -> None:
    data = _jsonl(TEXTS).encode()
    path = tmp_path / f"p{suffix}"
    if suffix.endswith(".gz"):
        path.write_bytes(gzip.compress(data))
    elif suffix.endswith(".bz2"):
        path.write_bytes(bz2.compress(data))
    elif suffix.endswith(".zst"):
        with pa.output_stream(str(path), compression="zstd") as stream:
            stream.write(data)
    else:
        path.write_bytes(data)
    assert _rows(path) == [(str(i + 1), t) for i, t in enumerate(TEXTS)]
    assert open_input(path).name == "p"


def test_a_json_array_of_records(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps([{"prompt": t} for t in TEXTS], indent=2))
    assert _rows(path) == [(str(i + 1), t) for i, t in enumerate(TEXTS)]


def test_tsv_has_no_quoting_and_delimiter_sets_csv(tmp_path: Path) -> None:
    tsv = tmp_path / "p.tsv"
    tsv.write_text('prompt\tcategory\n"Hello" she said\tx\na, b\ty\n')
    assert _rows(tsv) == [("2", '"Hello" she said'), ("3", "a, b")]
    semi = tmp_path / "p.csv"
    semi.write_text('id;prompt\n1;"a; b"\n2;c\n')
    assert _rows(semi, options=ReadOptions(delimiter=";")) == [("2", "a; b"), ("3", "c")]


def test_a_quoted_newline_past_a_megabyte_is_one_text(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    filler = "".join(f'{i},"a plain prompt number {i}"\n' for i in range(40_000))
    path.write_text('id,prompt\n' + filler + '40000,"first line\nsecond line"\n40001,last\n')
    assert path.stat().st_size > 1_000_000
    rows = _rows(path)
    assert len(rows) == 40_002
    assert rows[-2:] == [("40002", "first line\nsecond line"), ("40004", "last")]


def test_a_ragged_row_deep_in_a_file_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("id,prompt\n" + "".join(f"{i},text {i}\n" for i in range(60_000))
                    + "60000,a,b\n")
    item = open_input(path)
    with pytest.raises(StatsInputError) as error:
        scan_input(item, ["prompt"])
    assert str(error.value) == (
        f"{path}:60002: row has 3 fields, the header has 2 (a ragged row: check the delimiter "
        "and the quoting)")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("q.csv", b'prompt\n"never closed\nmore\n',
         "{path}:3: malformed CSV: unexpected end of data"),
        ("j.jsonl", b'{"prompt": "a"}\n\n{"prompt": \n', "{path}:3: not JSON: Expecting value "
         "(column 12)"),
        ("o.jsonl", b'{"prompt": {"en": "a"}}\n', "{path}:1: 'prompt' is an object, not text"),
        ("n.jsonl", b'[1, 2]\n', "{path}:1: a record is an object or a string, not an array"),
        ("k.jsonl", b'{"text": "a"}\n', "{path}: no record has the key 'prompt' (the first "
         "record has ['text'])"),
        ("a.json", b'{"prompt": "a"', "{path}:1: not JSON: Expecting ',' delimiter (column 15)"),
    ],
)
def test_malformed_files_name_file_line_and_problem(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(StatsInputError) as error:
        scan_input(open_input(path), ["prompt"])
    assert str(error.value) == message.format(path=path)


def test_invalid_utf8_is_an_error_with_line_and_column_or_a_counted_replacement(
    tmp_path: Path,
) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("id,prompt\n1,fine\n2,caf\xe9 cr\xe8me\n".encode("latin-1"))
    with pytest.raises(StatsInputError) as error:
        scan_input(open_input(path), ["prompt"])
    message = str(error.value)
    assert message.startswith(f"{path}:3: invalid UTF-8 bytes b'\\xe9' at column 6 (")
    assert message.endswith("--invalid-bytes replace to count and replace them)")
    assert "--encoding" in message
    assert _rows(path, options=ReadOptions(encoding="latin-1")) == [
        ("2", "fine"), ("3", "café crème")]
    replaced = open_input(path, ReadOptions(invalid="replace"))
    scan = scan_input(replaced, ["prompt"])
    assert (scan.rows, scan.decode.replaced_bytes, scan.decode.lines_with_replacements) == (
        2, 2, [3])
    assert _rows(path, options=ReadOptions(invalid="replace"))[1] == ("3", "caf\ufffd cr\ufffdme")


def test_txt_and_csv_decode_by_one_rule(tmp_path: Path) -> None:
    txt = tmp_path / "p.txt"
    txt.write_bytes(b"ok\nbad \xff byte\n")
    with pytest.raises(StatsInputError,
                       match=r"p\.txt:2: invalid UTF-8 bytes b'\\xff' at column 5"):
        scan_input(open_input(txt), ["text"])


def test_an_unknown_encoding_is_named(tmp_path: Path) -> None:
    path = tmp_path / "p.txt"
    path.write_text("x\n")
    with pytest.raises(StatsInputError, match=r"unknown encoding 'klingon' \(--encoding\)"):
        open_input(path, ReadOptions(encoding="klingon"))


@pytest.mark.parametrize("suffix", [".txt", ".csv", ".tsv", ".jsonl"])
@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_byte_order_marks_and_utf16_are_detected(
    tmp_path: Path, suffix: str, encoding: str
) -> None:
    texts = ["Ein Café an der Straße", "东京的夜景", "plain"]
    if suffix == ".txt":
        body = "".join(t + "\n" for t in texts)
    elif suffix == ".jsonl":
        body = "".join(json.dumps({"prompt": t}, ensure_ascii=False) + "\n" for t in texts)
    else:
        sep = "," if suffix == ".csv" else "\t"
        body = f"prompt{sep}n\n" + "".join(f"{t}{sep}{i}\n" for i, t in enumerate(texts))
    path = tmp_path / f"p{suffix}"
    path.write_bytes(body.encode(encoding))
    column = "text" if suffix == ".txt" else "prompt"
    item = open_input(path)
    if suffix in (".csv", ".tsv"):
        assert item.columns == ("prompt", "n")  # no BOM in the first name
    assert [t for _, t in _rows(path, column)] == texts


def test_txt_rows_have_their_line_numbers_as_id(tmp_path: Path) -> None:
    path = tmp_path / "p.txt"
    path.write_text("one\n\nthree\n")
    assert _rows(path, "text") == [("1", "one"), ("2", ""), ("3", "three")]


def test_a_user_status_column_is_not_carried(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("prompt,status,source,caption_model\na,rejected,elsewhere,m1\nb,kept,x,m2\n")
    item = open_input(path)
    tables = list(iter_batches(item, ["id", "status", "source", "caption_model", "prompt"],
                               ["prompt"], 10))
    assert tables[0].column_names == ["id", "prompt", "caption_model"]
    parquet = tmp_path / "p.parquet"
    pq.write_table(pa.table({"prompt": ["a"], "status": ["error"]}), parquet)
    assert next(iter_batches(open_input(parquet), ["status", "prompt"], ["prompt"], 10)
                ).to_pylist() == [{"id": "1", "prompt": "a"}]


def test_a_pandas_categorical_column_is_text(tmp_path: Path) -> None:
    path = tmp_path / "cat.parquet"
    pd.DataFrame({"prompt": pd.Categorical(["a dog", "a cat", "a dog"])}).to_parquet(path)
    item = open_input(path)
    check_text_columns([item], ["prompt"])
    table = next(iter_batches(item, ["prompt"], ["prompt"], 10))
    assert table.column("prompt").to_pylist() == ["a dog", "a cat", "a dog"]
    assert table.schema.field("prompt").type == pa.string()


def test_a_datasets_parquet_folder_is_one_source_per_split(tmp_path: Path) -> None:
    data = tmp_path / "my_set" / "data"
    data.mkdir(parents=True)
    for name, texts in [("train-00000-of-00002", ["a", "b"]), ("train-00001-of-00002", ["c"]),
                        ("test-00000-of-00001", ["d"])]:
        pq.write_table(pa.table({"prompt": texts}), data / f"{name}.parquet")
    (tmp_path / "my_set" / "README.md").write_text("a card")
    files, warnings = expand_inputs([tmp_path / "my_set"])
    labels, clashes = label_inputs(files)
    assert [p.name for p, _ in files] == ["test-00000-of-00001.parquet",
                                         "train-00000-of-00002.parquet",
                                         "train-00001-of-00002.parquet"]
    assert labels == ["my_set/test", "my_set/train", "my_set/train"]
    assert warnings == [] and clashes == []


def test_same_named_files_get_distinct_sources_and_a_file_twice_is_read_once(
    tmp_path: Path,
) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "prompts.txt").write_text("x\n")
    a, b = tmp_path / "a" / "prompts.txt", tmp_path / "b" / "prompts.txt"
    files, warnings = expand_inputs([a, b, tmp_path / "a" / ".." / "a" / "prompts.txt"])
    assert [p for p, _ in files] == [a, b]
    assert warnings == [f"{tmp_path / 'a' / '..' / 'a' / 'prompts.txt'} is given twice "
                        f"(as {a}): read once"]
    labels, clashes = label_inputs(files)
    assert labels == ["a/prompts", "b/prompts"]
    assert clashes == [f"2 inputs are named 'prompts' ({a}, {b}): their sources are "
                       "'a/prompts', 'b/prompts'"]


def test_an_empty_folder_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(StatsInputError, match="empty: no Parquet or text files in this folder"):
        expand_inputs([tmp_path / "empty"])
