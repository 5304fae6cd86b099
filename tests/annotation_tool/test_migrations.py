"""The Alembic history matches the models, and upgrading keeps existing rows."""

from __future__ import annotations

import io
import sqlite3

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from annotation_tool.migrate import alembic_config, current_revision, head_revision, upgrade
from annotation_tool.models import Base
from annotation_tool.settings import sqlite_url


def test_models_and_migrations_agree(tmp_path):
    url = sqlite_url(tmp_path / "m.db")
    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_upgrade_is_idempotent_and_keeps_data(tmp_path):
    path = tmp_path / "m.db"
    upgrade(sqlite_url(path))
    conn = sqlite3.connect(path)
    conn.execute(
        "INSERT INTO users (username, password_hash, role, is_active, created_at) "
        "VALUES ('keep', 'x', 'admin', 1, '2026-01-01')"
    )
    conn.commit()
    conn.close()
    upgrade(sqlite_url(path))
    assert current_revision(sqlite_url(path)) == head_revision()
    assert sqlite3.connect(path).execute("SELECT username FROM users").fetchall() == [("keep",)]


def test_migrations_render_for_postgresql():
    """No PostgreSQL server here: render the DDL offline to show it compiles for PG."""
    buffer = io.StringIO()
    config = alembic_config("postgresql://user:pw@localhost/review")
    config.output_buffer = buffer
    command.upgrade(config, "head", sql=True)
    ddl = buffer.getvalue()
    assert ddl.count("CREATE TABLE") == 11  # ten tables and alembic_version
    assert "CREATE INDEX ix_items_lock_user ON items (lock_user_id)" in ddl
