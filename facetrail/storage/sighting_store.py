"""Sightings, written idempotently by event id."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import func, select, update

from facetrail.storage.alert_outbox import OUTBOX, OUTBOX_COLUMNS, outbox_rows
from facetrail.events import SCHEMA_VERSION, Box, SightingEvent
from facetrail.storage.bulk import among, delete_among, insert_rows, row_per_key, update_rows
from facetrail.storage.database import Database
from facetrail.storage.entry_locks import live_entries
from facetrail.storage.models import AlertOutboxRow, ReviewRow, SightingRow, WatchlistEntryRow


@dataclass(frozen=True)
class StoredSighting:
    event: SightingEvent
    status: str


@dataclass(frozen=True)
class Upserted:
    """What one batch upsert stored: merged events, which were new, which are rejected by a reviewer."""

    events: list[SightingEvent]
    new_ids: frozenset[str]
    rejected_ids: frozenset[str]
    absent_entries: Counter[str] = field(default_factory=Counter)
    """Events dropped because their entry is not (or no longer) on the watch-list, by entry id."""


_TABLE = SightingRow.__table__
_ATTEMPTS = 3  # of a batch upsert whose known rows another writer changes meanwhile


def _event(row: SightingRow) -> SightingEvent:
    """The stored pass as an event; rows were validated on their way in, so they are not validated again."""
    box = Box.model_construct(x=row.box_x, y=row.box_y, w=row.box_w, h=row.box_h)
    return SightingEvent.model_construct(
        schema_version=SCHEMA_VERSION,  # given, not defaulted: looking up a default costs more than the rest
        event_id=row.event_id,
        camera_id=row.camera_id,
        entry_id=row.entry_id,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        score=row.score,
        box=box,
        quality=row.quality,
        evidence_key=row.evidence_key,
        watchlist_version=row.watchlist_version,
        final=row.final,
    )


# A new sighting's columns, in the order _values gives them.
_INSERTED = ("event_id", "entry_id", "camera_id", "first_seen", "last_seen", "score", "quality", "box_x", "box_y",
             "box_w", "box_h", "evidence_key", "watchlist_version", "final", "status", "stored_at")
_OWN = _INSERTED.index("status")  # the columns before it are the event's own, event_id first


def _values(event: SightingEvent, stored_at: datetime) -> tuple:
    """A new sighting's row: the values of _INSERTED."""
    box = event.box
    return (event.event_id, event.entry_id, event.camera_id, event.first_seen, event.last_seen, event.score,
            event.quality, box.x, box.y, box.w, box.h, event.evidence_key, event.watchlist_version, event.final,
            "candidate", stored_at)


class SightingStore:
    def __init__(self, db: Database):
        self._db = db

    def upsert_many(self, events: list[SightingEvent]) -> list[SightingEvent]:
        """Store events, merging publications of the same pass; returns the merged results.

        Events of entries no longer on the watch-list (erased or expired) are dropped.
        """
        return self.upsert_batch(events).events

    def upsert_batch(self, events: list[SightingEvent]) -> Upserted:
        """upsert_many in a few statements (storage.bulk), telling which events were new.

        One read of the batch's stored rows, then one INSERT (a COPY) of the new and one UPDATE of the known,
        all in one transaction, so a redelivered batch finds its rows and merges into them instead of duplicating.
        The people's entries stay locked until it commits (storage.entry_locks).
        """
        merged: dict[str, SightingEvent] = {}
        for event in events:
            merged[event.event_id] = merged[event.event_id].merged_with(event) if event.event_id in merged else event
        for _ in range(_ATTEMPTS):
            upserted = self._upsert_once(merged)
            if upserted is not None:
                return upserted
        raise RuntimeError(f"stored sightings kept changing under {_ATTEMPTS} attempts to merge into them")

    def _upsert_once(self, merged: dict[str, SightingEvent]) -> Upserted | None:
        """One attempt at upsert_batch; None, with nothing written, when another writer changed a known row
        meanwhile (a reviewer's decision): that row was not updated (storage.bulk.update_rows)."""
        dialect = self._db.engine.dialect
        with self._db.session() as session, session.begin():
            known = live_entries(session, {e.entry_id for e in merged.values()})
            existing = {row.event_id: row for row in session.execute(
                row_per_key(_TABLE, "event_id", merged, dialect)).all()}
            stored, fresh, changed = [], [], []
            absent: Counter[str] = Counter()
            for event_id, event in merged.items():
                if event.entry_id not in known:
                    absent[event.entry_id] += 1
                    continue
                row = existing.get(event_id)
                if row is None:
                    fresh.append(event)
                else:
                    before = _event(row)
                    event = before.merged_with(event)
                    if event != before:  # a plain redelivery has nothing to write
                        changed.append(event)
                stored.append(event)
            now = datetime.now(timezone.utc)
            # A known pass keeps its status and stored_at: only the event's own columns change.
            if update_rows(session, _TABLE, _INSERTED[:1], _INSERTED[1:_OWN],
                           [_values(e, now)[:_OWN] for e in changed]) != len(changed):
                session.rollback()
                return None
            insert_rows(session, _TABLE, _INSERTED, [_values(e, now) for e in fresh])
            # Each new sighting owes an alert: recorded with it, so no crash can store one without the other.
            insert_rows(session, OUTBOX, OUTBOX_COLUMNS, outbox_rows([e.event_id for e in fresh], now))
        rejected = {event_id for event_id, row in existing.items() if row.status == "rejected"}
        return Upserted(stored, frozenset(e.event_id for e in fresh), frozenset(rejected), absent)

    def get(self, event_id: str) -> StoredSighting | None:
        with self._db.session() as session:
            row = session.get(SightingRow, event_id)
            return StoredSighting(_event(row), row.status) if row else None

    def for_entries(self, since: dict[str, datetime], known: Mapping[str, SightingEvent] | None = None) -> list[SightingEvent]:
        """Each person's unrejected sightings ending at or after their own bound.

        ``known`` holds events the caller has just stored (by event id): those are taken from it, so only
        the others are read in full. One query, or two when some are not known.
        """
        if not since:
            return []
        known = known or {}
        dialect = self._db.engine.dialect
        where = (among(_TABLE.c.entry_id, since, dialect), _TABLE.c.status != "rejected",
                 _TABLE.c.last_seen >= min(since.values()))
        with self._db.session() as session:  # Core rows: no ORM identity map for what is only read once
            keys = session.execute(select(_TABLE.c.event_id, _TABLE.c.entry_id, _TABLE.c.last_seen).where(*where)).all()
            wanted = [k.event_id for k in keys if k.last_seen >= since[k.entry_id]]
            unknown = [event_id for event_id in wanted if event_id not in known]
            rows = session.execute(row_per_key(_TABLE, "event_id", unknown, dialect)).all() if unknown else []
        return [known[event_id] for event_id in wanted if event_id in known] + [_event(r) for r in rows]

    def search(
        self,
        *,
        entry_ids: list[str] | None = None,
        camera_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
        status: str | None = None,
        newest_first: bool = False,
    ) -> list[StoredSighting]:
        """One page of sightings overlapping [since, until], by first sighting (oldest or newest first): one query."""
        query = select(SightingRow)
        if entry_ids is not None:
            query = query.where(SightingRow.entry_id.in_(entry_ids))
        if camera_id is not None:
            query = query.where(SightingRow.camera_id == camera_id)
        if since is not None:
            query = query.where(SightingRow.last_seen >= since)
        if until is not None:
            query = query.where(SightingRow.first_seen <= until)
        if status is not None:
            query = query.where(SightingRow.status == status)
        first_seen = SightingRow.first_seen.desc() if newest_first else SightingRow.first_seen
        query = query.order_by(first_seen, SightingRow.event_id).limit(limit).offset(offset)
        with self._db.session() as session:
            return [StoredSighting(_event(r), r.status) for r in session.scalars(query).all()]

    def set_status(self, event_id: str, status: str) -> None:
        with self._db.session() as session, session.begin():
            row = session.get(SightingRow, event_id)
            if row is None:
                raise KeyError(event_id)
            row.status = status

    def drop_evidence(self, event_ids: list[str]) -> None:
        """These sightings keep their rows but no longer name a crop (it was deleted)."""
        with self._db.session() as session, session.begin():
            for start in range(0, len(event_ids), 500):
                session.execute(update(SightingRow).where(SightingRow.event_id.in_(event_ids[start:start + 500]))
                                .values(evidence_key=None))

    def count_of(self, entry_id: str) -> int:
        with self._db.session() as session:
            return session.scalar(select(func.count()).select_from(SightingRow).where(SightingRow.entry_id == entry_id)) or 0

    def evidence_keys_of(self, entry_id: str) -> list[str]:
        with self._db.session() as session:
            return [k for k in session.scalars(select(SightingRow.evidence_key).where(SightingRow.entry_id == entry_id)) if k]

    def evidence_keys(self) -> set[str]:
        """Every crop some sighting refers to."""
        with self._db.session() as session:
            return {k for k in session.scalars(select(SightingRow.evidence_key).where(SightingRow.evidence_key.is_not(None))) if k}

    def ended_before(self, cutoff: datetime) -> list[tuple[str, str | None]]:
        """(event id, evidence key) of the sightings that ended before ``cutoff``."""
        with self._db.session() as session:
            rows = session.execute(select(SightingRow.event_id, SightingRow.evidence_key).where(SightingRow.last_seen < cutoff))
            return [(event_id, key) for event_id, key in rows]

    def crops_first_seen_before(self, cutoff: datetime) -> list[tuple[str, str]]:
        """(event id, evidence key) of the sightings first seen before ``cutoff`` that still have a crop."""
        with self._db.session() as session:
            rows = session.execute(select(SightingRow.event_id, SightingRow.evidence_key).where(
                SightingRow.first_seen < cutoff, SightingRow.evidence_key.is_not(None)))
            return [(event_id, key) for event_id, key in rows if key]

    def delete(self, event_ids: list[str]) -> None:
        """Delete these sightings and the reviews of them: one transaction."""
        with self._db.session() as session, session.begin():
            delete_among(session, ReviewRow.event_id, event_ids)
            delete_among(session, AlertOutboxRow.event_id, event_ids)
            delete_among(session, SightingRow.event_id, event_ids)

    def count_by_status(self, watchlists: list[str] | None = None) -> dict[str, int]:
        """Stored sightings by review status, of these watch-lists only (of all when None)."""
        query = select(SightingRow.status, func.count()).group_by(SightingRow.status)
        if watchlists is not None:
            query = query.join(WatchlistEntryRow, WatchlistEntryRow.entry_id == SightingRow.entry_id).where(
                WatchlistEntryRow.watchlist.in_(watchlists))
        with self._db.session() as session:
            return {status: count for status, count in session.execute(query)}
