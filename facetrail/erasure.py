"""Erasing a watch-list entry and everything derived from it.

Evidence crops and enrolment photos go first (their keys live in the rows),
then the entry row, whose deletion cascades to embeddings, sightings and
tracks, then the person's messages on an embedded bus.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from facetrail.events import SIGHTINGS_TOPIC
from facetrail.bus.base import ALERTS_TOPIC
from facetrail.storage.database import Database
from facetrail.storage.models import SightingRow
from facetrail.storage.objects import ObjectStore
from facetrail.storage.watchlist_store import WatchlistStore


@dataclass(frozen=True)
class ErasureReport:
    entry_id: str
    objects_deleted: int
    entry_deleted: bool
    bus_messages_deleted: int


def erase_entry(entry_id: str, db: Database, objects: ObjectStore, bus=None) -> ErasureReport:
    watchlist = WatchlistStore(db)
    with db.session() as session:
        keys = [k for k in session.scalars(select(SightingRow.evidence_key).where(SightingRow.entry_id == entry_id)) if k]
    keys += watchlist.photo_keys(entry_id)
    for key in keys:
        objects.delete(key)
    deleted = watchlist.remove(entry_id)
    messages = 0
    if bus is not None and hasattr(bus, "delete_where_key"):
        messages = sum(bus.delete_where_key(topic, entry_id) for topic in (SIGHTINGS_TOPIC, ALERTS_TOPIC))
    return ErasureReport(entry_id, len(keys), deleted, messages)
