"""``paraimage annotate`` subcommands, run through the real top-level parser."""

from __future__ import annotations

import io
import sqlite3

import pyarrow.parquet as pq
import pytest
from review_factories import manifest_rows, write_run

from annotation_tool.migrate import head_revision
from workflows.cli import main


def run(*argv: str) -> int:
    return main(["annotate", *argv])


def test_users_projects_import_export(tmp_path, images, monkeypatch, capsys):
    db = str(tmp_path / "cli.db")
    monkeypatch.setattr("sys.stdin", io.StringIO("a long password\n"))
    assert (
        run("create-user", "--db", db, "--username", "root", "--role", "admin", "--password-stdin")
        == 0
    )
    assert run("create-project", "--db", db, "--name", "small") == 0
    runs = write_run(tmp_path / "run", manifest_rows(images))
    assert (
        run(
            "import",
            "--db",
            db,
            "--project",
            "small",
            "--run-dir",
            str(runs),
            "--where",
            "source_key LIKE 'c%'",
        )
        == 0
    )
    assert (
        run("export", "--db", db, "--project", "small", "--out", str(tmp_path / "out.parquet")) == 0
    )
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("created user root (admin), id 1")
    assert out[2] == "matched 2, imported 2, already present 0"  # chelsea, coffee
    assert out[3] == f"exported 0 rows to {tmp_path / 'out.parquet'} (parquet)"
    assert pq.read_table(tmp_path / "out.parquet").num_rows == 0
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    stored = conn.execute("SELECT password_hash FROM users").fetchone()[0]
    assert "a long password" not in stored


def test_bad_input_exits_2(tmp_path, capsys):
    db = str(tmp_path / "cli.db")
    assert run("import", "--db", db, "--project", "nope", "--run-dir", str(tmp_path)) == 2
    assert capsys.readouterr().err == "error: no project named or numbered 'nope'\n"


def test_migrate_reports_head(tmp_path, capsys):
    db = str(tmp_path / "m.db")
    assert run("migrate", "--db", db) == 0
    assert capsys.readouterr().out.strip() == f"database at revision {head_revision()}"


def test_serve_needs_existing_image_root(tmp_path):
    with pytest.raises(SystemExit, match="is not a directory"):
        run("serve", "--db", str(tmp_path / "s.db"), "--images", str(tmp_path / "missing"))


@pytest.mark.parametrize("username", ["with space", "semi;colon", "<b>", "x" * 65, "ann\u00e9"])
def test_create_user_refuses_names_the_api_refuses(tmp_path, monkeypatch, capsys, username):
    """Issue 22.9: the CLI and the API apply one username rule."""
    monkeypatch.setattr("sys.stdin", io.StringIO("a long password\n"))
    db = str(tmp_path / "cli.db")
    argv = ("create-user", "--db", db, "--username", username, "--role", "admin")
    assert run(*argv, "--password-stdin") == 2
    assert capsys.readouterr().err == (
        "error: usernames are 1-64 characters: letters, digits and _ . @ - only\n"
    )


def test_create_project_with_unblinded_inspection(tmp_path):
    db = str(tmp_path / "cli.db")
    assert run("create-project", "--db", db, "--name", "blind") == 0
    assert run("create-project", "--db", db, "--name", "open", "--unblinded-inspection") == 0
    rows = sqlite3.connect(db).execute("SELECT name, blind_inspection FROM projects ORDER BY id")
    assert rows.fetchall() == [("blind", 1), ("open", 0)]
