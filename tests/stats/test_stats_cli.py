from __future__ import annotations

import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from stats_helpers import make_run, manifest_row

from workflows.cli import main

README = Path(__file__).resolve().parents[2] / "stats" / "README.md"


def test_stats_over_a_run_with_stats_present(random_run: Path, capsys) -> None:
    assert main(["stats", str(random_run)]) == 0
    assert (random_run / "stats" / "report.md").is_file()
    assert not (random_run / "stats" / "text_stats").exists()  # nothing was missing
    assert "report:" in capsys.readouterr().out


def test_stats_recomputes_missing_statistics(tmp_path: Path) -> None:
    rows = [manifest_row(key=str(i), caption="A dog sits on the red mat.", alt_text="red mat")
            for i in range(3)]
    run = make_run(tmp_path / "run", {"s": rows})
    assert main(["stats", str(run), "--no-words", "--memory-limit", "500MB"]) == 0
    table1 = pq.read_table(run / "stats" / "table1.parquet").to_pylist()
    assert table1[0] == {"grouping": "all", "group": "all", "text": "caption", "images": 3,
                         "mean_short_side": None, "mean_words": 7.0, "mean_nouns": 2.0}
    assert table1[1]["mean_words"] == 2.0  # alt-text
    assert not (run / "stats" / "words.parquet").exists()


def test_stats_over_text_files(tmp_path: Path, capsys) -> None:
    txt = tmp_path / "a.txt"
    txt.write_text("A dog sits on the red mat.\n\nHe drove more slowly than his brother.\n")
    csv = tmp_path / "b.csv"
    csv.write_text('prompt,other\n"The old man quickly walks across the busy street.",1\n')
    out = tmp_path / "out"
    assert main(["stats", "--input", str(txt), str(csv), "--text-column", "prompt",
                 "--out", str(out)]) == 0
    rows = pq.read_table(sorted((out / "text_stats").glob("*.parquet"))).to_pylist()
    assert sorted(r["n_words"] for r in rows) == [0, 7, 7, 9]
    ella = pq.read_table(out / "ella.parquet").to_pylist()
    assert ella[0]["texts"] == 4 and ella[0]["mean_words"] == pytest.approx(23 / 4)
    assert (out / "report.md").is_file()
    capsys.readouterr()
    assert main(["query", "SELECT count(*) AS n FROM nouns", "--stats", str(out)]) == 0
    assert re.search(r"│\s+5\s+│", capsys.readouterr().out)  # dog mat brother man street


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["stats"], "give a RUN_DIR or --input"),
        (["stats", "{tmp}"], "no manifests found"),
        (["stats", "--input", "{tmp}/t.csv", "--out", "{tmp}/o"], "needs --text-column"),
        (["stats", "--input", "{tmp}/t.csv", "--text-column", "x", "--out", "{tmp}/o"],
         "no column ['x']"),
        (["stats", "--input", "{tmp}/t.csv", "--text-column", "t"], "needs --out"),
        (["stats", "--input", "{tmp}/none.csv", "--text-column", "t", "--out", "{tmp}/o"],
         "input file not found"),
        (["query", "SELECT 1", "--run", "{tmp}"], "no manifests found"),
        (["query", "SELECT 1", "--stats", "{tmp}"], "no statistics in"),
    ],
)
def test_bad_input_exits_2_with_a_message(tmp_path: Path, capsys, argv, message) -> None:
    (tmp_path / "t.csv").write_text("t\nhello\n")
    assert main([a.format(tmp=tmp_path) for a in argv]) == 2
    assert message in capsys.readouterr().err


def test_query_errors_exit_2(random_run: Path, capsys) -> None:
    assert main(["query", "SELEC 1", "--run", str(random_run)]) == 2
    assert "query failed: Parser Error" in capsys.readouterr().err
    assert main(["query", "SELECT nope FROM captions", "--run", str(random_run)]) == 2
    assert "Binder Error" in capsys.readouterr().err
    out = random_run / "x.json"
    assert main(["query", "SELECT 1", "--run", str(random_run), "--output", str(out)]) == 2
    assert "must end in .parquet or .csv" in capsys.readouterr().err


def test_query_prints_and_writes(random_run: Path, tmp_path: Path, capsys) -> None:
    sql = "SELECT status, count(*) AS n FROM manifest GROUP BY 1 ORDER BY 1"
    assert main(["query", sql, "--run", str(random_run)]) == 0
    printed = capsys.readouterr().out
    assert "kept" in printed and "rejected" in printed and "error" in printed
    run = ["--run", str(random_run)]
    assert main(["query", sql, *run, "--output", str(tmp_path / "q.parquet")]) == 0
    table = pq.read_table(tmp_path / "q.parquet").to_pylist()
    assert sum(r["n"] for r in table) == 750
    assert main(["query", sql, *run, "--output", str(tmp_path / "q.csv")]) == 0
    assert (tmp_path / "q.csv").read_text().splitlines()[0] == "status,n"


def test_readme_example_queries_run(random_run: Path, capsys) -> None:
    queries = re.findall(r"```sql\n(.*?)```", README.read_text(), flags=re.S)
    assert len(queries) >= 5
    for sql in queries:
        assert main(["query", sql, "--run", str(random_run)]) == 0, sql
        assert "query failed" not in capsys.readouterr().err
