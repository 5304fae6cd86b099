"""The Alembic history matches the models, and upgrading keeps existing rows."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from annotation_tool.migrate import alembic_config, current_revision, head_revision, upgrade
from annotation_tool.models import Base
from annotation_tool.settings import sqlite_url

A_PROJECT = (
    "INSERT INTO projects (id, name, kind, description, use_drafts, assessors_per_item,"
    " created_at) VALUES (1, 'p', 'paraimage_small', '', 1, 3, '2026-01-01')"
)


def upgraded_with(tmp_path: Path, start: str, *statements: str) -> Path:
    """A database migrated to revision ``start``, the SQL ``statements`` run on it,
    then migrated to head; returns its path."""
    path = tmp_path / "m.db"
    upgrade(sqlite_url(path), start)
    conn = sqlite3.connect(path)
    conn.executescript(";".join(statements))
    conn.commit()
    conn.close()
    upgrade(sqlite_url(path))
    return path


def test_models_and_migrations_agree(tmp_path):
    url = sqlite_url(tmp_path / "m.db")
    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_upgrade_is_idempotent_and_keeps_data(tmp_path):
    path = upgraded_with(
        tmp_path,
        "head",
        "INSERT INTO users (username, password_hash, role, is_active, created_at) "
        "VALUES ('keep', 'x', 'admin', 1, '2026-01-01')",
    )
    assert current_revision(sqlite_url(path)) == head_revision()
    assert sqlite3.connect(path).execute("SELECT username FROM users").fetchall() == [("keep",)]


def test_migrations_render_for_postgresql():
    """No PostgreSQL server here: render the DDL offline to show it compiles for PG."""
    buffer = io.StringIO()
    config = alembic_config("postgresql://user:pw@localhost/review")
    config.output_buffer = buffer
    command.upgrade(config, "head", sql=True)
    ddl = buffer.getvalue()
    assert ddl.count("CREATE TABLE") == 12  # eleven tables and alembic_version
    assert "CREATE INDEX ix_items_lock_user ON items (lock_user_id)" in ddl


def test_started_descriptions_get_their_author(tmp_path):
    """0002: a description saved before describer_id was set on the first save."""
    path = upgraded_with(
        tmp_path,
        "0001",
        "INSERT INTO users (id, username, password_hash, role, is_active, created_at)"
        " VALUES (7, 'ann', 'x', 'annotator', 1, '2026-01-01')",
        A_PROJECT,
        "INSERT INTO items (id, project_id, image_id, image_ref, source, source_key, stage,"
        " description_version, audit_cycle, created_at, updated_at) VALUES"
        " (1, 1, 'a', 'file:///a', '', '', 'description', 2, 0, '2026-01-01', '2026-01-01'),"
        " (2, 1, 'b', 'file:///b', '', '', 'description', 1, 0, '2026-01-01', '2026-01-01')",
        "INSERT INTO description_versions (item_id, version, kind, text, author_id, created_at)"
        " VALUES (1, 1, 'draft', 'vlm', NULL, '2026-01-01'),"
        " (1, 2, 'autosave', 'mine', 7, '2026-01-01'),"
        " (2, 1, 'draft', 'vlm', NULL, '2026-01-01')",
    )
    rows = sqlite3.connect(path).execute("SELECT id, describer_id FROM items ORDER BY id")
    assert rows.fetchall() == [(1, 7), (2, None)]


def test_existing_projects_inspect_blind_after_0003(tmp_path):
    """0003: blind inspection is the default for projects made before it existed."""
    path = upgraded_with(tmp_path, "0002", A_PROJECT)
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT blind_inspection FROM projects").fetchall() == [(1,)]
    assert conn.execute("SELECT count(*) FROM skips").fetchone() == (0,)
