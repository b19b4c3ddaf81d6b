"""Erasing a watch-list entry, or old sightings, and everything derived from them.

Evidence crops and enrolment photos go first (their keys live in the rows),
then the entry row, whose deletion cascades to embeddings, sightings and
tracks, then the entry's reviews, its queued webhook deliveries (cancelled: never sent) and the person's
messages on an embedded bus.
Objects go before rows so that a crash part-way leaves rows pointing at
missing objects (harmless, swept again) rather than objects nobody can find.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from facetrail.bus.base import ErasableBus, EventBus
from facetrail.bus.channels import PERSON_KEYED
from facetrail.storage.database import Database
from facetrail.storage.erased_entries import ErasedEntries
from facetrail.storage.forwarding_store import ForwardingQueue
from facetrail.storage.objects import ObjectStore
from facetrail.storage.review_store import ReviewStore
from facetrail.storage.sighting_store import SightingStore
from facetrail.storage.track_store import TrackStore
from facetrail.storage.watchlist_store import WatchlistStore


@dataclass(frozen=True)
class ErasureReport:
    entry_id: str
    objects_deleted: int
    entry_deleted: bool
    bus_messages_deleted: int
    sightings_deleted: int = 0
    tracks_deleted: int = 0
    deliveries_cancelled: int = 0
    """Webhook deliveries about the entry that were still queued (or dead-lettered): never sent now."""


def erase_entry(entry_id: str, db: Database, objects: ObjectStore, bus: EventBus | None = None, *,
                bus_keeps_for: timedelta) -> ErasureReport:
    """``bus_keeps_for`` (RetentionConfig.bus_keeps_for): how long the bus may still deliver the person's messages,
    which are refused for that long by a tombstone (storage.erased_entries) as a replay of them would bring the
    person back."""
    watchlist, sightings_store = WatchlistStore(db), SightingStore(db)
    ErasedEntries(db).record(entry_id, datetime.now(timezone.utc) + bus_keeps_for)
    keys = sightings_store.evidence_keys_of(entry_id)
    sightings, tracks = sightings_store.count_of(entry_id), TrackStore(db).count_of(entry_id)
    keys += watchlist.photo_keys(entry_id)
    for key in keys:
        objects.delete(key)
    deleted = watchlist.remove(entry_id)
    ReviewStore(db).delete_of_entry(entry_id)
    forwarding = ForwardingQueue(db)
    cancelled = len(forwarding.cancel_of_entry(entry_id))
    forwarding.forget_entry(entry_id)
    db.forget_deleted()
    messages = 0
    if isinstance(bus, ErasableBus):
        messages = sum(bus.delete_where_key(channel.name, entry_id) for channel in PERSON_KEYED)
    return ErasureReport(entry_id, len(keys), deleted, messages, sightings if deleted else 0, tracks if deleted else 0,
                         cancelled)


def delete_sightings_before(cutoff: datetime, db: Database, objects: ObjectStore) -> tuple[int, int]:
    """Delete sightings that ended before `cutoff`, their crops and reviews; returns (sightings, objects)."""
    store = SightingStore(db)
    old = store.ended_before(cutoff)
    keys = [key for _, key in old if key]
    for key in keys:
        objects.delete(key)
    store.delete([event_id for event_id, _ in old])
    return len(old), len(keys)


def delete_evidence_before(cutoff: datetime, db: Database, objects: ObjectStore) -> int:
    """Delete the crops of sightings first seen before `cutoff`; the sighting rows stay, without a crop."""
    store = SightingStore(db)
    old = store.crops_first_seen_before(cutoff)
    for _, key in old:
        objects.delete(key)
    store.drop_evidence([event_id for event_id, _ in old])
    return len(old)


def delete_tracks_before(cutoff: datetime, db: Database) -> int:
    """Delete tracks that ended before `cutoff` (their visits cascade)."""
    return TrackStore(db).delete_ended_before(cutoff)
