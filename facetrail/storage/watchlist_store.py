"""Watch-list entries and their reference embeddings."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

import numpy as np
from sqlalchemy import delete, select

from facetrail.storage.database import Database
from facetrail.storage.models import EmbeddingRow, WatchlistEntryRow
from facetrail.watchlist import EMBEDDING_DIM, EnrolledPerson, EntryRecord


def _record(row: WatchlistEntryRow) -> EntryRecord:
    return EntryRecord(
        entry_id=row.entry_id,
        display_name=row.display_name,
        watchlist=row.watchlist,
        legal_basis=row.legal_basis,
        image_source=row.image_source,
        enrolled_by=row.enrolled_by,
        created_at=row.created_at,
        expires_at=row.expires_at,
        threshold=row.threshold,
    )


def _vectors(rows: list[EmbeddingRow], kind: str) -> np.ndarray:
    chosen = [np.frombuffer(r.vector, dtype=np.float32) for r in rows if r.kind == kind]
    return np.stack(chosen) if chosen else np.zeros((0, EMBEDDING_DIM), np.float32)


class WatchlistStore:
    def __init__(self, db: Database):
        self._db = db

    def add(self, record: EntryRecord, embeddings: np.ndarray, photo_keys: list[str | None]) -> None:
        with self._db.session() as session, session.begin():
            row = WatchlistEntryRow(**record.__dict__)
            for vector, key in zip(np.asarray(embeddings, np.float32), photo_keys):
                row.embeddings.append(EmbeddingRow(kind="reference", vector=vector.tobytes(), photo_key=key))
            session.add(row)

    def add_rejected_example(self, entry_id: str, embedding: np.ndarray) -> None:
        with self._db.session() as session, session.begin():
            session.add(EmbeddingRow(entry_id=entry_id, kind="rejected", vector=np.asarray(embedding, np.float32).tobytes()))

    def records(self) -> list[EntryRecord]:
        with self._db.session() as session:
            rows = session.scalars(select(WatchlistEntryRow).order_by(WatchlistEntryRow.display_name)).all()
            return [_record(r) for r in rows]

    def get(self, entry_id: str) -> EntryRecord | None:
        with self._db.session() as session:
            row = session.get(WatchlistEntryRow, entry_id)
            return _record(row) if row else None

    def find_by_name(self, display_name: str) -> list[EntryRecord]:
        with self._db.session() as session:
            rows = session.scalars(select(WatchlistEntryRow).where(WatchlistEntryRow.display_name == display_name)).all()
            return [_record(r) for r in rows]

    def photo_keys(self, entry_id: str) -> list[str]:
        with self._db.session() as session:
            keys = session.scalars(
                select(EmbeddingRow.photo_key).where(EmbeddingRow.entry_id == entry_id, EmbeddingRow.photo_key.is_not(None))
            ).all()
            return list(keys)

    def enrolled_people(self, now: datetime | None = None) -> list[EnrolledPerson]:
        """Unexpired entries with their embeddings: what a matcher loads."""
        now = now or datetime.now(timezone.utc)
        with self._db.session() as session:
            rows = session.scalars(select(WatchlistEntryRow).where(WatchlistEntryRow.expires_at > now)).all()
            people = []
            for row in rows:
                references = _vectors(row.embeddings, "reference")
                if len(references):
                    people.append(EnrolledPerson(_record(row), references, _vectors(row.embeddings, "rejected")))
            return people

    def version(self) -> str:
        """Changes whenever an entry or embedding is added or removed."""
        with self._db.session() as session:
            entries = session.execute(select(WatchlistEntryRow.entry_id, WatchlistEntryRow.expires_at).order_by(WatchlistEntryRow.entry_id)).all()
            embeddings = session.execute(select(EmbeddingRow.id).order_by(EmbeddingRow.id)).scalars().all()
        digest = hashlib.sha256(repr((entries, embeddings)).encode()).hexdigest()
        return digest[:16]

    def remove(self, entry_id: str) -> bool:
        """Delete an entry; its embeddings, sightings and tracks cascade."""
        with self._db.session() as session, session.begin():
            return session.execute(delete(WatchlistEntryRow).where(WatchlistEntryRow.entry_id == entry_id)).rowcount > 0

    def expired(self, now: datetime | None = None) -> list[EntryRecord]:
        now = now or datetime.now(timezone.utc)
        with self._db.session() as session:
            rows = session.scalars(select(WatchlistEntryRow).where(WatchlistEntryRow.expires_at <= now)).all()
            return [_record(r) for r in rows]
