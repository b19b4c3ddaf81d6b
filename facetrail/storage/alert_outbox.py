"""Alerts owed: one row per new sighting, written in the sighting's own transaction (SightingStore.upsert_batch)
and deleted once the bus has acknowledged its alert.

So an alert is published at least once whatever stops the trajectory service: a crash after the sightings are
stored but before they are stitched (the batch is redelivered; its rows are no longer new, but still owed), or
after the offsets are committed but before the bus acknowledged the alerts (the rows are found again and sent).
Consumers drop repeats by event id (api/live.py).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timezone

from sqlalchemy import select

from facetrail.storage.bulk import among, delete_among
from facetrail.storage.database import Database
from facetrail.storage.models import AlertOutboxRow

OUTBOX = AlertOutboxRow.__table__
OUTBOX_COLUMNS = ("event_id", "queued_at")


class AlertOutbox:
    def __init__(self, db: Database):
        self._db = db

    def owed_among(self, event_ids: Collection[str]) -> set[str]:
        """Those of ``event_ids`` whose alert has not been acknowledged yet."""
        if not event_ids:
            return set()
        with self._db.session() as session:
            return set(session.scalars(select(AlertOutboxRow.event_id).where(
                among(AlertOutboxRow.event_id, event_ids, self._db.engine.dialect))))

    def queued_before(self, moment: datetime, limit: int = 1000) -> list[str]:
        """Event ids owed since before ``moment``, oldest first: left behind by a process that stopped."""
        with self._db.session() as session:
            return list(session.scalars(select(AlertOutboxRow.event_id).where(AlertOutboxRow.queued_at < moment)
                                        .order_by(AlertOutboxRow.queued_at).limit(limit)))

    def settle(self, event_ids: Sequence[str]) -> None:
        """These alerts were acknowledged by the bus (or have nothing left to announce)."""
        if event_ids:
            with self._db.session() as session, session.begin():
                delete_among(session, AlertOutboxRow.event_id, list(event_ids))

    def count(self) -> int:
        with self._db.session() as session:
            return len(session.scalars(select(AlertOutboxRow.event_id)).all())


def outbox_rows(event_ids: Sequence[str], now: datetime | None = None) -> list[tuple[str, datetime]]:
    """The rows SightingStore writes beside new sightings."""
    at = now or datetime.now(timezone.utc)
    return [(event_id, at) for event_id in event_ids]
