"""Alerts owed, kept with the sightings they announce; keyed hashes of erased entries' ids; the site's keys.

Timestamps are naive UTC (models.UtcDateTime converts).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if "alert_outbox" in sa.inspect(op.get_bind()).get_table_names():
        return  # made by create_all with today's models
    op.create_table("alert_outbox",
                    sa.Column("event_id", sa.String(32), primary_key=True),
                    sa.Column("queued_at", sa.DateTime(), nullable=False))
    op.create_table("erased_entries",
                    sa.Column("entry_hash", sa.String(64), primary_key=True),
                    sa.Column("forget_after", sa.DateTime(), nullable=False))
    op.create_index("ix_erased_entries_forget_after", "erased_entries", ["forget_after"])
    op.create_table("site_keys",
                    sa.Column("name", sa.String(64), primary_key=True),
                    sa.Column("secret", sa.LargeBinary(), nullable=False))


def downgrade() -> None:
    op.drop_table("site_keys")
    op.drop_index("ix_erased_entries_forget_after", table_name="erased_entries")
    op.drop_table("erased_entries")
    op.drop_table("alert_outbox")
