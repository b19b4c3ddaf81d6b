"""Failed logins and lockouts live in the database, so several API processes share one count.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    tables = set(sa.inspect(op.get_bind()).get_table_names())
    if "login_failures" not in tables:
        op.create_table(
            "login_failures",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("key", sa.String(length=200), nullable=False),
            sa.Column("failed_at", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index("ix_login_failures_key", "login_failures", ["key"], unique=False)
        op.create_index("ix_login_failures_failed_at", "login_failures", ["failed_at"], unique=False)
    if "login_lockouts" not in tables:
        op.create_table(
            "login_lockouts",
            sa.Column("key", sa.String(length=200), nullable=False),
            sa.Column("locked_until", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("key"),
        )
        op.create_index("ix_login_lockouts_locked_until", "login_lockouts", ["locked_until"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_login_lockouts_locked_until", table_name="login_lockouts")
    op.drop_table("login_lockouts")
    op.drop_index("ix_login_failures_failed_at", table_name="login_failures")
    op.drop_index("ix_login_failures_key", table_name="login_failures")
    op.drop_table("login_failures")
