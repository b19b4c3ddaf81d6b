"""Archive search jobs and the segments workers lease from them (facetrail.archive).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if "archive_jobs" in sa.inspect(op.get_bind()).get_table_names():
        return  # made by create_all with today's models
    op.create_table(
        "archive_jobs",
        sa.Column("job_id", sa.String(32), primary_key=True),
        sa.Column("camera_id", sa.String(64), nullable=False, index=True),
        sa.Column("authorisation", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("watchlist_version", sa.String(64), nullable=False),
        sa.Column("since", sa.DateTime(), nullable=True),
        sa.Column("until", sa.DateTime(), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "archive_segments",
        sa.Column("segment_id", sa.String(48), primary_key=True),
        sa.Column("job_id", sa.String(32), sa.ForeignKey("archive_jobs.job_id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("recording_start", sa.DateTime(), nullable=False),
        sa.Column("start_s", sa.Float(), nullable=False),
        sa.Column("end_s", sa.Float(), nullable=False),
        sa.Column("read_from_s", sa.Float(), nullable=False),
        sa.Column("read_until_s", sa.Float(), nullable=False),
        sa.Column("last_of_recording", sa.Boolean(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(100), nullable=True),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("checkpoint_s", sa.Float(), nullable=True),
        sa.Column("published", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("first_leased_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_archive_segments_lease", "archive_segments", ["state", "priority", "lease_until"])


def downgrade() -> None:
    op.drop_index("ix_archive_segments_lease", "archive_segments")
    op.drop_table("archive_segments")
    op.drop_table("archive_jobs")
