"""Camera health carries the mean detection and embedding times.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A database made by create_all from newer models (stamped 0001 on first open) has them already.
    existing = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("camera_health")}
    for name in ("detection_ms", "embedding_ms"):
        if name not in existing:
            op.add_column("camera_health", sa.Column(name, sa.Float(), nullable=False, server_default="0"))


def downgrade() -> None:
    op.drop_column("camera_health", "embedding_ms")
    op.drop_column("camera_health", "detection_ms")
