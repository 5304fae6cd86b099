"""The review tool on a real PostgreSQL server: migrations, claims under contention,
descriptions with versioned saves, and the whole workflow through the API. The test
bodies are the SQLite suite's own (imported), run here with PostgreSQL ``settings``."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from handlers.claims.test_post_claims import *  # noqa: F403
from handlers.descriptions.test_put_description import *  # noqa: F403
from sqlalchemy import create_engine, inspect
from workflow.test_full_workflow_api import test_full_workflow  # noqa: F401

from annotation_tool.migrate import current_revision, head_revision, upgrade
from annotation_tool.models import Base


def test_postgres_migrations_match_models_and_are_idempotent(fresh_database: str) -> None:
    assert fresh_database.startswith("postgresql+psycopg://")
    upgrade(fresh_database)  # a second upgrade is a no-op
    assert current_revision(fresh_database) == head_revision()
    engine = create_engine(fresh_database)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        assert engine.dialect.name == "postgresql"
        assert set(Base.metadata.tables) <= set(inspect(conn).get_table_names())
    engine.dispose()
