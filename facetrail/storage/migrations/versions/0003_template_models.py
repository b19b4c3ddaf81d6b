"""Templates record the embedding model that made them; calibrated operating points per model.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    # Every template stored before this revision was made by dlib's ResNet, the only embedder there was.
    if "model" not in {c["name"] for c in inspector.get_columns("entry_embeddings")}:
        with op.batch_alter_table("entry_embeddings") as batch:
            batch.add_column(sa.Column("model", sa.String(length=64), nullable=False, server_default="dlib-resnet-v1"))
            batch.create_index("ix_entry_embeddings_model", ["model"], unique=False)
    if "operating_points" not in inspector.get_table_names():
        op.create_table(
            "operating_points",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("model", sa.String(length=64), nullable=False),
            sa.Column("threshold", sa.Float(), nullable=False),
            sa.Column("max_distance_ratio", sa.Float(), nullable=False),
            sa.Column("target_fpir", sa.Float(), nullable=False),
            sa.Column("details", sa.Text(), nullable=False),
            sa.Column("watchlist_version", sa.String(length=64), nullable=False),
            sa.Column("calibrated_by", sa.String(length=100), nullable=False),
            sa.Column("calibrated_at", sa.DateTime(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index("ix_operating_points_model", "operating_points", ["model"], unique=False)
        op.create_index("ix_operating_points_calibrated_at", "operating_points", ["calibrated_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_operating_points_calibrated_at", table_name="operating_points")
    op.drop_index("ix_operating_points_model", table_name="operating_points")
    op.drop_table("operating_points")
    with op.batch_alter_table("entry_embeddings") as batch:
        batch.drop_index("ix_entry_embeddings_model")
        batch.drop_column("model")
