"""The retention sweeper: expired entries and data past its retention limit are erased.

One sweep, in order:
1. every watch-list entry past its expiry is erased with everything derived
   from it (embeddings, sightings, tracks, reviews, evidence crops, enrolment
   photos, its messages on an embedded bus), one audit record per entry;
2. sightings older than ``retention.sightings_days`` go (with crops and reviews);
3. crops older than ``retention.evidence_days`` go (the sighting rows stay);
4. tracks older than ``retention.tracks_days`` go;
5. evidence objects that no sighting refers to (the entry was erased before
   the trajectory service stored the sighting) go once a day old;
then one audit record summarises the sweep. Running it twice changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from facetrail.audit.log import AuditLog
from facetrail.bus.base import ErasableBus, EventBus
from facetrail.config import Config
from facetrail.accountability.erasure import delete_evidence_before, delete_sightings_before, delete_tracks_before, erase_entry
from facetrail.storage.database import Database
from facetrail.storage.erased_entries import ErasedEntries
from facetrail.storage.forwarding_store import ForwardingQueue
from facetrail.storage.objects import ObjectStore
from facetrail.storage.sighting_store import SightingStore
from facetrail.storage.watchlist_store import WatchlistStore

log = logging.getLogger(__name__)

SWEEPER = "retention-sweeper"
ORPHAN_GRACE = timedelta(days=1)
"""A crop is written before its sighting is stored; younger orphans may still be in flight."""


@dataclass(frozen=True)
class SweepReport:
    at: datetime
    entries_expired: tuple[str, ...]
    sightings_deleted: int
    tracks_deleted: int
    objects_deleted: int
    bus_messages_deleted: int

    def summary(self) -> str:
        return (f"{len(self.entries_expired)} expired entr{'y' if len(self.entries_expired) == 1 else 'ies'} erased, "
                f"{self.sightings_deleted} sighting(s), {self.tracks_deleted} track(s), "
                f"{self.objects_deleted} object(s) and {self.bus_messages_deleted} bus message(s) deleted")


def _evidence_day(key: str) -> datetime | None:
    """The capture day in an evidence key (evidence/<camera>/<YYYY-MM-DD>/<event>.jpg)."""
    parts = key.split("/")
    try:
        return datetime.strptime(parts[2], "%Y-%m-%d").replace(tzinfo=timezone.utc) if len(parts) == 4 else None
    except ValueError:
        return None


def _delete_orphan_evidence(db: Database, objects: ObjectStore, now: datetime) -> int:
    referenced = SightingStore(db).evidence_keys()
    deleted = 0
    for key in list(objects.keys("evidence/")):
        day = _evidence_day(key)
        if key not in referenced and day is not None and day + timedelta(days=1) + ORPHAN_GRACE <= now:
            objects.delete(key)
            deleted += 1
    return deleted


def sweep(config: Config, db: Database, objects: ObjectStore, bus: EventBus | None, audit: AuditLog, now: datetime | None = None) -> SweepReport:
    now = now or datetime.now(timezone.utc)
    retention = config.retention
    expired, objects_deleted, messages = [], 0, 0
    for record in WatchlistStore(db).expired(now):
        erased = erase_entry(record.entry_id, db, objects, bus, bus_keeps_for=retention.bus_keeps_for)
        expired.append(record.entry_id)
        objects_deleted += erased.objects_deleted
        messages += erased.bus_messages_deleted
        audit.record(SWEEPER, "watchlist.expire", record.entry_id, {
            "watchlist": record.watchlist, "expired_at": record.expires_at, "sightings_deleted": erased.sightings_deleted,
            "tracks_deleted": erased.tracks_deleted, "objects_deleted": erased.objects_deleted,
            "bus_messages_deleted": erased.bus_messages_deleted,
        })
    sightings, crops = delete_sightings_before(now - timedelta(days=retention.sightings_days), db, objects)
    objects_deleted += crops
    objects_deleted += delete_evidence_before(now - timedelta(days=retention.evidence_days), db, objects)
    tracks = delete_tracks_before(now - timedelta(days=retention.tracks_days), db)
    ErasedEntries(db).forget_before(now)  # the bus no longer holds those people's messages
    objects_deleted += _delete_orphan_evidence(db, objects, now)
    deliveries = ForwardingQueue(db).delete_queued_before(now - timedelta(days=retention.sightings_days))
    if isinstance(bus, ErasableBus):  # an embedded bus; Kafka topics carry retention.ms instead
        shortest = min(retention.sightings_days, retention.tracks_days, retention.evidence_days)
        messages += bus.delete_published_before((now - timedelta(days=shortest)).timestamp())
    report = SweepReport(now, tuple(expired), sightings, tracks, objects_deleted, messages)
    audit.record(SWEEPER, "retention.sweep", "", {
        "entries_expired": len(expired), "sightings_deleted": sightings, "tracks_deleted": tracks,
        "objects_deleted": objects_deleted, "bus_messages_deleted": messages, "webhook_deliveries_deleted": deliveries,
        "limits_days": {"sightings": retention.sightings_days, "tracks": retention.tracks_days, "evidence": retention.evidence_days},
    })
    log.info("retention sweep: %s", report.summary())
    return report
