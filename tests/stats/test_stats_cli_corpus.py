"""``paraimage stats --input`` on the corpora users have: every case gives defined
numbers or one clear line and exit 2, before any work."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from stats_helpers import make_run, manifest_row

from workflows.cli import main

REPO = Path(__file__).resolve().parents[2]
PROMPTS = [
    "A dog sits on the red mat.",
    "Two small cats sleep under a wooden table near the window.",
    "He drove more slowly than his brother.",
    "A red \"stop\" sign, bent by the wind.",
    "",
]


def _table(path: Path) -> list[dict]:
    rows = pq.read_table(path).to_pylist()
    for row in rows:
        row.pop("group", None)  # the source's name, which differs by file
    return rows


def _stats(argv: list[str]) -> int:
    return main(["stats", *map(str, argv)])


def test_tsv_and_jsonl_prompt_sets_give_the_tables_of_the_same_texts_in_txt(
    tmp_path: Path,
) -> None:
    (tmp_path / "p.txt").write_text("".join(p + "\n" for p in PROMPTS))
    (tmp_path / "p.tsv").write_text("Prompt\tCategory\n" + "".join(
        f"{p}\tc{i}\n" for i, p in enumerate(PROMPTS)))
    (tmp_path / "p.jsonl").write_text("".join(
        json.dumps({"Prompt": p, "id": i}) + "\n" for i, p in enumerate(PROMPTS)))
    outs = {}
    for suffix in ("txt", "tsv", "jsonl"):
        out = tmp_path / f"out_{suffix}"
        column = [] if suffix == "txt" else ["--text-column", "Prompt"]
        assert _stats(["--input", tmp_path / f"p.{suffix}", *column, "--out", out]) == 0
        outs[suffix] = out
    for table in ("summary", "ella", "table1", "length_buckets", "length_histogram", "nouns",
                  "words"):
        reference = _table(outs["txt"] / f"{table}.parquet")
        assert reference, table
        for suffix in ("tsv", "jsonl"):
            assert _table(outs[suffix] / f"{table}.parquet") == reference, (table, suffix)
    ella = pq.read_table(outs["tsv"] / "ella.parquet").to_pylist()[0]
    assert (ella["texts"], ella["mean_words"]) == (5, pytest.approx(33 / 5))
    ids = duckdb.sql(f"SELECT id, caption FROM '{outs['jsonl']}/text_stats/*.parquet' "
                     "ORDER BY id").fetchall()
    assert ids == [(str(i + 1), p) for i, p in enumerate(PROMPTS)]  # line numbers


@pytest.mark.parametrize(
    ("files", "argv", "message"),
    [
        ({"p.csv": "id,prompt\n1,caf\xe9\n".encode("latin-1")}, [],
         "{tmp}/p.csv:2: invalid UTF-8 bytes b'\\xe9' at column 6 ("),
        ({"p.csv": ("id,prompt\n" + "".join(f"{i},t\n" for i in range(5000)) + "x,y,z\n"
                    ).encode()}, [],
         "{tmp}/p.csv:5002: row has 3 fields, the header has 2 (a ragged row"),
        ({"p.csv": b'prompt\n"open\n'}, [], "{tmp}/p.csv:2: malformed CSV: unexpected end"),
        ({"p.jsonl": b'{"prompt": "a"}\nnope\n'}, [], "{tmp}/p.jsonl:2: not JSON: Expecting"),
        ({"p.csv": b"prompt\na\n", "out": b"a file"}, [],
         "--out {tmp}/out is a file, not a folder"),
        ({"p.csv": b"prompt\na\n"}, ["--delimiter", ";;"],
         "--delimiter must be one character, not ';;'"),
        ({"p.txt": b"a\n"}, ["--delimiter", ";"], "--delimiter is for CSV and TSV files"),
        ({"p.csv": b"id,prompt\n1,a\n"}, ["--encoding", "nope"], "unknown encoding 'nope'"),
    ],
)
def test_bad_corpora_exit_2_with_one_line_before_any_work(
    tmp_path: Path, capsys, files: dict[str, bytes], argv: list[str], message: str
) -> None:
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    source = next(tmp_path / n for n in files if n != "out")
    out = tmp_path / "out"
    assert _stats(["--input", source, "--text-column", "prompt", "--out", out, *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("paraimage: error: " + message.format(tmp=tmp_path))
    assert err.count("\n") == 1  # one line, no traceback, no progress bar before it
    assert not (tmp_path / "out" / "text_stats").exists()  # no work was started


def test_invalid_bytes_replaced_are_counted_on_the_console_and_in_the_report(
    tmp_path: Path, capsys,
) -> None:
    path = tmp_path / "p.csv"
    path.write_bytes("id,prompt\n1,fine text\n2,caf\xe9 cr\xe8me\n".encode("latin-1"))
    out = tmp_path / "out"
    assert _stats(["--input", path, "--text-column", "prompt", "--out", out,
                   "--invalid-bytes", "replace"]) == 0
    err = capsys.readouterr().err
    assert (f"paraimage: warning: {path}: 2 invalid UTF-8 bytes replaced by U+FFFD on lines 3"
            in err)
    report = (out / "report.md").read_text()
    assert "| p.csv | p | csv | UTF-8 | 2 | 0 | 2 | 2 |" in report
    assert _stats(["--input", path, "--text-column", "prompt", "--out", out,
                   "--encoding", "latin-1"]) == 0
    assert "| p.csv | p | csv | iso8859-1 | 2 | 0 | 0 | 2 |" in (out / "report.md").read_text()


def test_a_user_status_column_filters_nothing(tmp_path: Path, capsys) -> None:
    path = tmp_path / "p.csv"
    path.write_text("prompt,status\nA dog.,kept\nA cat.,rejected\nA cow.,error\n")
    out = tmp_path / "out"
    assert _stats(["--input", path, "--text-column", "prompt", "--out", out]) == 0
    assert pq.read_table(out / "ella.parquet").to_pylist()[0]["texts"] == 3
    assert "tables: Every row of the inputs is counted: 3 rows." in capsys.readouterr().out
    report = (out / "report.md").read_text()
    assert "Every row of the inputs is counted: 3 rows." in report
    assert "## Funnel" not in report


def test_a_manifest_given_as_input_says_it_counts_kept_rows(tmp_path: Path, capsys) -> None:
    rows = [manifest_row(key=str(i), caption="A dog.", status=s)
            for i, s in enumerate(["kept", "kept", "rejected"])]
    run = make_run(tmp_path / "run", {"shard": rows})
    out = tmp_path / "out"
    manifest = run / "manifests" / "shard.parquet"
    assert _stats(["--input", manifest, "--text-column", "caption", "--out", out]) == 0
    note = ("2 of 3 rows are counted: shard.parquet is a paraimage manifest, whose tables "
            "count kept rows only (the funnel has the rest); every row of the other inputs is "
            "counted.")
    assert f"tables: {note}" in capsys.readouterr().out
    assert note in (out / "report.md").read_text()


def test_duplicates_and_name_clashes_are_warned_and_kept_apart(tmp_path: Path, capsys) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "prompts.txt").write_text(f"A {folder} dog.\n")
    dup = tmp_path / "dup.csv"
    dup.write_text("prompt,prompt\nfirst,second\n")
    a, b = tmp_path / "a" / "prompts.txt", tmp_path / "b" / "prompts.txt"
    out = tmp_path / "out"
    assert _stats(["--input", a, b, a, dup, "--text-column", "prompt", "--out", out]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"paraimage: warning: {a} is given twice (as {a}): read once",
        f"paraimage: warning: 2 inputs are named 'prompts' ({a}, {b}): their sources are "
        "'a/prompts', 'b/prompts'",
        f"paraimage: warning: {dup}: the header repeats ['prompt']: the first column of each "
        "name is read",
    ]
    rows = duckdb.sql(f"SELECT source, caption FROM '{out}/text_stats/*.parquet' "
                      "ORDER BY source").fetchall()
    assert rows == [("a/prompts", "A a dog."), ("b/prompts", "A b dog."), ("dup", "first")]


def test_a_report_fits_text_files_and_flags_non_english(tmp_path: Path) -> None:
    path = tmp_path / "p.txt"
    path.write_text("A dog sits on the red mat.\n东京的夜景很美丽\nA cat.\n")
    out = tmp_path / "out"
    assert _stats(["--input", path, "--out", out]) == 0
    report = (out / "report.md").read_text()
    assert "alt-text" not in report and "short side" not in report
    assert "| p.txt | p | txt | UTF-8 | 3 | 0 | 0 | 3 |" in report
    assert "| caption | 3 | 1 | 33.3% | p:2 |" in report
    assert "docs/statistics.md" in report and "DESIGN.md" not in report


def test_query_stats_has_a_view_per_table(tmp_path: Path, capsys) -> None:
    path = tmp_path / "p.txt"
    path.write_text("A dog sits on the red mat.\nA cat.\n")
    out = tmp_path / "out"
    assert _stats(["--input", path, "--out", out]) == 0
    capsys.readouterr()
    for sql, expected in [
        ("SELECT texts FROM ella WHERE grouping = 'all' AND text = 'caption'", r"│\s+2\s+│"),
        ("SELECT count(*) AS n FROM nouns_table WHERE text = 'caption'", r"│\s+3\s+│"),
        ("SELECT images FROM table1 WHERE grouping = 'all' AND text = 'caption'",
         r"│\s+2\s+│"),
    ]:
        assert main(["query", sql, "--stats", str(out)]) == 0, sql
        assert re.search(expected, capsys.readouterr().out), sql


def test_a_rerun_removes_tables_the_options_no_longer_write(tmp_path: Path) -> None:
    path = tmp_path / "p.txt"
    path.write_text("A dog.\n")
    out = tmp_path / "out"
    assert _stats(["--input", path, "--out", out]) == 0
    assert (out / "words.parquet").is_file()
    assert _stats(["--input", path, "--out", out, "--no-words"]) == 0
    assert not (out / "words.parquet").exists()
    assert "words.parquet" not in (out / "report.md").read_text()


def test_no_progress_bar_in_a_log(tmp_path: Path, capsys) -> None:
    path = tmp_path / "p.txt"
    path.write_text("A dog.\n" * 50)
    assert _stats(["--input", path, "--out", tmp_path / "out", "--batch-size", "7"]) == 0
    captured = capsys.readouterr()
    assert "rows/s" not in captured.err and "\r" not in captured.err
    assert "text stats: 50 rows from 1 files" in captured.out


def test_a_categorical_parquet_column_and_a_datasets_folder(tmp_path: Path) -> None:
    import pandas as pd

    folder = tmp_path / "set" / "data"
    folder.mkdir(parents=True)
    pd.DataFrame({"prompt": pd.Categorical(["A dog.", "A cat.", "A dog."])}).to_parquet(
        folder / "train-00000-of-00001.parquet")
    pq.write_table(pa.table({"prompt": ["A cow."]}), folder / "test-00000-of-00001.parquet")
    out = tmp_path / "out"
    assert _stats(["--input", tmp_path / "set", "--text-column", "prompt", "--out", out]) == 0
    by_source = {r["group"]: r["texts"] for r in pq.read_table(out / "ella.parquet").to_pylist()
                 if r["grouping"] == "source" and r["text"] == "caption"}
    assert by_source == {"set/train": 3, "set/test": 1}


def test_the_definitions_live_in_the_repository() -> None:
    definitions = (REPO / "docs" / "statistics.md").read_text()
    for term in ("Words", "NN", "JJ/RB", "IN", "CLIP tokens", "DN", "VN", "Sentences",
                 "<25", ">200"):
        assert term in definitions, term
    for path in [REPO / "stats" / "README.md", *sorted((REPO / "stats").glob("*.py"))]:
        assert "DESIGN.md" not in path.read_text(), path
    assert "docs/statistics.md" in (REPO / "stats" / "README.md").read_text()
