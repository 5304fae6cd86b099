"""skips with reasons, unreadable images, blind inspection

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 19:15:00

Issue 22 (an annotator's day): ``skips`` keeps who set an item aside, in which stage
and why, so the queue hands it to someone else; ``items.image_problem`` marks an image
whose unreadable report the server confirmed; ``projects.blind_inspection`` (on by
default, also for existing projects) hides earlier scores from inspectors, and
``scores.blind`` records whether an inspection was blind.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "skips",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_skips_item_id_items")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_skips_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skips")),
    )
    with op.batch_alter_table("skips", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_skips_item_id"), ["item_id"], unique=False)
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("image_problem", sa.Text(), nullable=True))
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("blind_inspection", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    with op.batch_alter_table("projects", schema=None) as batch_op:
        # The default lives in the model; the server default only filled existing rows.
        batch_op.alter_column("blind_inspection", server_default=None)
    with op.batch_alter_table("scores", schema=None) as batch_op:
        batch_op.add_column(sa.Column("blind", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scores", schema=None) as batch_op:
        batch_op.drop_column("blind")
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_column("blind_inspection")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_column("image_problem")
    with op.batch_alter_table("skips", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_skips_item_id"))
    op.drop_table("skips")
