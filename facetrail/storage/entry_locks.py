"""A person's sightings, tracks and visits never outlive their watch-list entry, with no per-row check.

Sightings and track visits carry no foreign key (migration 0006): PostgreSQL's check of one, a look-up
and a lock of the parent row for every row written, cost it more than the row itself. The same guarantee
is kept here, once a batch:

- a transaction that writes rows derived from entries first locks those entries' rows FOR KEY SHARE
  (``live_entries``, the lock a foreign-key check takes) and writes nothing for an entry that is gone;
- removing an entry (``remove_entry``) locks its row FOR UPDATE before deleting anything: that waits for
  every writer holding it to commit, so what they wrote is seen and deleted, and holds off new writers
  until the entry is gone, so they find it gone.

So whichever commits first, nothing derived from a removed entry stays behind. SQLite runs one writing
transaction at a time, so there the order of statements alone does it (it has no row locks).
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from facetrail.storage.bulk import among, delete_among
from facetrail.storage.models import AlertOutboxRow, SightingRow, TrackRow, VisitRow, WatchlistEntryRow


def live_entries(session: Session, entry_ids: Collection[str]) -> set[str]:
    """Those of ``entry_ids`` still enrolled, locked against removal until the session's transaction ends."""
    if not entry_ids:
        return set()
    dialect = session.get_bind().dialect
    query = (select(WatchlistEntryRow.entry_id).where(among(WatchlistEntryRow.entry_id, entry_ids, dialect))
             .with_for_update(read=True, key_share=True))
    return set(session.scalars(query))


def remove_entry(session: Session, entry_id: str) -> bool:
    """Delete an entry with everything derived from it, in the session's transaction; False if there is none.

    Its embeddings and tracks go by their foreign keys' cascade; its sightings and its tracks' visits,
    which have none, are deleted here, after the entry's row is locked.
    """
    locked = select(WatchlistEntryRow.entry_id).where(WatchlistEntryRow.entry_id == entry_id).with_for_update()
    if session.scalar(locked) is None:
        return False
    tracks = list(session.scalars(select(TrackRow.track_id).where(TrackRow.entry_id == entry_id)))
    delete_among(session, VisitRow.track_id, tracks)
    session.execute(delete(AlertOutboxRow).where(AlertOutboxRow.event_id.in_(
        select(SightingRow.event_id).where(SightingRow.entry_id == entry_id))))
    session.execute(delete(SightingRow).where(SightingRow.entry_id == entry_id))
    session.execute(delete(WatchlistEntryRow).where(WatchlistEntryRow.entry_id == entry_id))
    return True
