"""The webhook delivery queue: one row an event and target, kept across restarts.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if "forwarding_deliveries" in sa.inspect(op.get_bind()).get_table_names():
        return  # made by create_all with today's models
    op.create_table(
        "forwarding_deliveries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("target", sa.String(63), nullable=False),
        sa.Column("message_id", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("entry_id", sa.String(64), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(300), nullable=True),
    )
    op.create_index("ix_forwarding_deliveries_entry_id", "forwarding_deliveries", ["entry_id"])
    op.create_index("forwarding_by_target_message", "forwarding_deliveries", ["target", "message_id"], unique=True)
    op.create_index("forwarding_due", "forwarding_deliveries", ["target", "state", "next_attempt_at"])


def downgrade() -> None:
    op.drop_table("forwarding_deliveries")
