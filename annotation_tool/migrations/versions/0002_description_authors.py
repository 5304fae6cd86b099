"""a started description belongs to its author

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 16:30:00

``items.describer_id`` is now set by the first save of a description, not only by its
submission (issue 22.1: nobody else may then read or take it). Descriptions started
before this revision get the author of their latest saved version.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "UPDATE items SET describer_id = ("
        " SELECT dv.author_id FROM description_versions dv"
        " WHERE dv.item_id = items.id AND dv.author_id IS NOT NULL"
        " ORDER BY dv.version DESC LIMIT 1"
        ") WHERE stage = 'description' AND describer_id IS NULL"
    )


def downgrade() -> None:
    """Nothing to undo: the older code sets describer_id again on submission."""
