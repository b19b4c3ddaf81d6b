"""Sighting searches the API needs beyond SightingStore.search: by review status, newest first."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from facetrail.storage.database import Database
from facetrail.storage.models import SightingRow
from facetrail.storage.sighting_store import SightingStore, StoredSighting


def find_sightings(db: Database, *, entry_ids: list[str], since: datetime, until: datetime, limit: int, offset: int,
                   camera_id: str | None = None, status: str | None = None, newest_first: bool = False) -> list[StoredSighting]:
    query = select(SightingRow.event_id).where(
        SightingRow.entry_id.in_(entry_ids), SightingRow.last_seen >= since, SightingRow.first_seen <= until)
    if camera_id is not None:
        query = query.where(SightingRow.camera_id == camera_id)
    if status is not None:
        query = query.where(SightingRow.status == status)
    order = (SightingRow.first_seen.desc(), SightingRow.event_id) if newest_first else (SightingRow.first_seen, SightingRow.event_id)
    with db.session() as session:
        ids = session.scalars(query.order_by(*order).limit(limit).offset(offset)).all()
    store = SightingStore(db)
    return [s for s in (store.get(i) for i in ids) if s is not None]
