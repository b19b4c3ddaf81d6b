"""Erasing a watch-list entry, or old sightings, and everything derived from them.

Evidence crops and enrolment photos go first (their keys live in the rows),
then the entry row, whose deletion cascades to embeddings, sightings and
tracks, then the entry's reviews and the person's messages on an embedded bus.
Objects go before rows so that a crash part-way leaves rows pointing at
missing objects (harmless, swept again) rather than objects nobody can find.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update

from facetrail.bus.base import ALERTS_TOPIC, DEAD_LETTER_TOPIC
from facetrail.events import SIGHTINGS_TOPIC
from facetrail.storage.database import Database
from facetrail.storage.models import ReviewRow, SightingRow, TrackRow
from facetrail.storage.objects import ObjectStore
from facetrail.storage.watchlist_store import WatchlistStore


@dataclass(frozen=True)
class ErasureReport:
    entry_id: str
    objects_deleted: int
    entry_deleted: bool
    bus_messages_deleted: int
    sightings_deleted: int = 0
    tracks_deleted: int = 0


def _rows_of(db: Database, model, entry_id: str) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model).where(model.entry_id == entry_id)) or 0


def erase_entry(entry_id: str, db: Database, objects: ObjectStore, bus=None) -> ErasureReport:
    watchlist = WatchlistStore(db)
    with db.session() as session:
        keys = [k for k in session.scalars(select(SightingRow.evidence_key).where(SightingRow.entry_id == entry_id)) if k]
    sightings, tracks = _rows_of(db, SightingRow, entry_id), _rows_of(db, TrackRow, entry_id)
    keys += watchlist.photo_keys(entry_id)
    for key in keys:
        objects.delete(key)
    deleted = watchlist.remove(entry_id)
    with db.session() as session, session.begin():
        session.execute(delete(ReviewRow).where(ReviewRow.entry_id == entry_id))
    db.forget_deleted()
    messages = 0
    if bus is not None and hasattr(bus, "delete_where_key"):
        messages = sum(bus.delete_where_key(topic, entry_id) for topic in (SIGHTINGS_TOPIC, ALERTS_TOPIC, DEAD_LETTER_TOPIC))
    return ErasureReport(entry_id, len(keys), deleted, messages, sightings if deleted else 0, tracks if deleted else 0)


def delete_sightings_before(cutoff: datetime, db: Database, objects: ObjectStore) -> tuple[int, int]:
    """Delete sightings that ended before `cutoff`, their crops and reviews; returns (sightings, objects)."""
    with db.session() as session:
        old = session.execute(select(SightingRow.event_id, SightingRow.evidence_key).where(SightingRow.last_seen < cutoff)).all()
    keys = [key for _, key in old if key]
    for key in keys:
        objects.delete(key)
    ids = [event_id for event_id, _ in old]
    with db.session() as session, session.begin():
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            session.execute(delete(ReviewRow).where(ReviewRow.event_id.in_(chunk)))
            session.execute(delete(SightingRow).where(SightingRow.event_id.in_(chunk)))
    return len(ids), len(keys)


def delete_evidence_before(cutoff: datetime, db: Database, objects: ObjectStore) -> int:
    """Delete the crops of sightings first seen before `cutoff`; the sighting rows stay, without a crop."""
    with db.session() as session:
        old = session.execute(select(SightingRow.event_id, SightingRow.evidence_key).where(
            SightingRow.first_seen < cutoff, SightingRow.evidence_key.is_not(None))).all()
    for _, key in old:
        objects.delete(key)
    ids = [event_id for event_id, _ in old]
    with db.session() as session, session.begin():
        for start in range(0, len(ids), 500):
            session.execute(update(SightingRow).where(SightingRow.event_id.in_(ids[start : start + 500])).values(evidence_key=None))
    return len(ids)


def delete_tracks_before(cutoff: datetime, db: Database) -> int:
    """Delete tracks that ended before `cutoff` (their visits cascade)."""
    with db.session() as session, session.begin():
        return session.execute(delete(TrackRow).where(TrackRow.ended_at < cutoff)).rowcount or 0
