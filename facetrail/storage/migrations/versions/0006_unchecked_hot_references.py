"""Sightings and track visits lose their per-row foreign keys; a visit's camera and time share one index.

The trajectory service writes a sighting and about one visit for every pass it stores, and PostgreSQL's
check of each row's foreign key (a look-up and a lock of the parent row) cost more than the row itself:
about 20 us a sighting and 17 us a visit, a third of PostgreSQL's time. The stores now keep both
references themselves (storage.entry_locks): writers lock each person's entry once a batch, and removing an
entry or a track removes its sightings and visits in the same transaction.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# SQLite names no constraint it was not given a name for; batch mode names the reflected ones by this.
_NAMED = {"fk": "fk_%(table_name)s_%(column_0_name)s"}


def _foreign_keys(table: str) -> list[str]:
    return [fk["name"] or _NAMED["fk"] % {"table_name": table, "column_0_name": fk["constrained_columns"][0]}
            for fk in sa.inspect(op.get_bind()).get_foreign_keys(table)]


def upgrade() -> None:
    for table in ("sightings", "track_visits"):
        foreign_keys = _foreign_keys(table)
        with op.batch_alter_table(table, naming_convention=_NAMED) as batch:
            for name in foreign_keys:
                batch.drop_constraint(name, type_="foreignkey")
    # A database that create_all made before migrations existed has today's indexes already (migrate.upgrade).
    indexes = {index["name"] for index in sa.inspect(op.get_bind()).get_indexes("track_visits")}
    for name in {"ix_track_visits_camera_id", "ix_track_visits_entered_at"} & indexes:
        op.drop_index(name, table_name="track_visits")
    if "track_visits_by_camera_time" not in indexes:
        op.create_index("track_visits_by_camera_time", "track_visits", ["camera_id", "entered_at"])


def downgrade() -> None:
    op.drop_index("track_visits_by_camera_time", table_name="track_visits")
    op.create_index("ix_track_visits_entered_at", "track_visits", ["entered_at"])
    op.create_index("ix_track_visits_camera_id", "track_visits", ["camera_id"])
    with op.batch_alter_table("track_visits") as batch:
        batch.create_foreign_key("track_visits_track_id_fkey", "tracks", ["track_id"], ["track_id"], ondelete="CASCADE")
    with op.batch_alter_table("sightings") as batch:
        batch.create_foreign_key("sightings_entry_id_fkey", "watchlist_entries", ["entry_id"], ["entry_id"],
                                 ondelete="CASCADE")
