"""Watch-list entries gain `name_key` (the display name after NFKC, case folding and whitespace collapsing) and a
unique index on (watchlist, name_key): one entry per person and list, even against concurrent enrolments.

Duplicates an earlier release let in are kept (erasing one is a person's decision, audited); each later one gets a
key suffixed with its entry id, so the index holds and no new entry of that name can join them.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from facetrail.names import name_key

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if "name_key" not in {c["name"] for c in sa.inspect(bind).get_columns("watchlist_entries")}:
        op.add_column("watchlist_entries", sa.Column("name_key", sa.String(800), nullable=False, server_default=""))
    entries = sa.table("watchlist_entries", sa.column("entry_id", sa.String), sa.column("display_name", sa.String),
                       sa.column("watchlist", sa.String), sa.column("name_key", sa.String),
                       sa.column("created_at", sa.DateTime))
    seen: set[tuple[str, str]] = set()
    rows = bind.execute(sa.select(entries.c.entry_id, entries.c.display_name, entries.c.watchlist)
                        .order_by(entries.c.created_at, entries.c.entry_id)).all()
    for entry_id, display_name, watchlist in rows:
        key = name_key(display_name)
        if (watchlist, key) in seen:
            key = f"{key} #{entry_id}"
        seen.add((watchlist, key))
        bind.execute(entries.update().where(entries.c.entry_id == entry_id).values(name_key=key))
    if "watchlist_entries_one_per_name" not in {i["name"] for i in sa.inspect(bind).get_indexes("watchlist_entries")}:
        op.create_index("watchlist_entries_one_per_name", "watchlist_entries", ["watchlist", "name_key"], unique=True)


def downgrade() -> None:
    op.drop_index("watchlist_entries_one_per_name", table_name="watchlist_entries")
    with op.batch_alter_table("watchlist_entries") as batch:
        batch.drop_column("name_key")
