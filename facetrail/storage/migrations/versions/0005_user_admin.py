"""Users can be disabled, and their last login is kept (the admin console shows both).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    existing = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("api_users")}
    if "disabled" not in existing:
        op.add_column("api_users", sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()))
    if "last_login_at" not in existing:
        op.add_column("api_users", sa.Column("last_login_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column("api_users", "last_login_at")
    op.drop_column("api_users", "disabled")
