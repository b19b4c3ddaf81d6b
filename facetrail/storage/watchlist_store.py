"""Watch-list entries and their reference embeddings."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from facetrail.names import name_key
from facetrail.storage.database import Database
from facetrail.storage.entry_locks import remove_entry
from facetrail.storage.models import EmbeddingRow, OperatingPointRow, WatchlistEntryRow
from facetrail.watchlist import EnrolledPerson, EntryRecord, OperatingPoint


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


def _vectors(rows: list[EmbeddingRow], kind: str, model: str) -> np.ndarray:
    chosen = [np.frombuffer(r.vector, dtype=np.float32) for r in rows if r.kind == kind and r.model == model]
    return np.stack(chosen) if chosen else np.zeros((0, 0), np.float32)


class EntryExists(Exception):
    """The watch-list already holds an entry whose name is this one's (facetrail.names.name_key)."""


@dataclass(frozen=True)
class TemplateCount:
    """How many reference templates of one model an entry has."""

    entry_id: str
    model: str
    templates: int


class WatchlistStore:
    def __init__(self, db: Database):
        self._db = db

    def add(self, record: EntryRecord, embeddings: np.ndarray, photo_keys: Sequence[str | None], *, model: str) -> None:
        """A new entry with its templates, made by embedding model `model` from the photos stored at photo_keys.

        EntryExists when its list holds the same name already (the unique index decides, so concurrent adds of one
        name store one entry)."""
        try:
            with self._db.session() as session, session.begin():
                row = WatchlistEntryRow(**record.__dict__, name_key=name_key(record.display_name))
                for vector, key in zip(np.asarray(embeddings, np.float32), photo_keys):
                    row.embeddings.append(EmbeddingRow(kind="reference", model=model, vector=vector.tobytes(), photo_key=key))
                session.add(row)
        except IntegrityError:
            raise EntryExists(f"an entry of that name is already on watch-list {record.watchlist!r}") from None

    def add_templates(self, entry_id: str, model: str, embeddings: np.ndarray, photo_keys: Sequence[str]) -> bool:
        """More reference templates for an existing entry (photos added later); False when there is no such entry."""
        with self._db.session() as session, session.begin():
            if session.get(WatchlistEntryRow, entry_id) is None:
                return False
            for vector, key in zip(np.asarray(embeddings, np.float32), photo_keys):
                session.add(EmbeddingRow(entry_id=entry_id, kind="reference", model=model, vector=vector.tobytes(),
                                         photo_key=key))
            return True

    def replace_templates(self, entry_id: str, model: str, embeddings: np.ndarray, photo_keys: Sequence[str | None]) -> None:
        """The entry's reference templates of `model` become these (re-embedding); other models' stay."""
        with self._db.session() as session, session.begin():
            session.execute(delete(EmbeddingRow).where(
                EmbeddingRow.entry_id == entry_id, EmbeddingRow.kind == "reference", EmbeddingRow.model == model))
            for vector, key in zip(np.asarray(embeddings, np.float32), photo_keys):
                session.add(EmbeddingRow(entry_id=entry_id, kind="reference", model=model, vector=vector.tobytes(),
                                         photo_key=key))

    def add_rejected_example(self, entry_id: str, embedding: np.ndarray, *, model: str) -> int | None:
        """Stores a 'not this person' example and returns its id (the rejection's audit record names it); None when
        the entry is gone (erased while its match was being rejected): nothing is stored."""
        try:
            with self._db.session() as session, session.begin():
                row = EmbeddingRow(entry_id=entry_id, kind="rejected", model=model,
                                   vector=np.asarray(embedding, np.float32).tobytes())
                session.add(row)
                session.flush()
                return int(row.id)
        except IntegrityError:
            return None

    def remove_rejected_example(self, entry_id: str, example_id: int) -> bool:
        """Withdraws one 'not this person' example of the entry; False when it is not (or no longer) stored."""
        with self._db.session() as session, session.begin():
            removed = session.execute(delete(EmbeddingRow).where(
                EmbeddingRow.id == example_id, EmbeddingRow.entry_id == entry_id, EmbeddingRow.kind == "rejected"))
            return bool(getattr(removed, "rowcount", 0))

    def template_counts(self) -> list[TemplateCount]:
        """Reference templates per entry and model."""
        with self._db.session() as session:
            rows = session.execute(
                select(EmbeddingRow.entry_id, EmbeddingRow.model, func.count())
                .where(EmbeddingRow.kind == "reference").group_by(EmbeddingRow.entry_id, EmbeddingRow.model)
                .order_by(EmbeddingRow.entry_id, EmbeddingRow.model)).all()
            return [TemplateCount(entry_id, model, count) for entry_id, model, count in rows]

    def without_templates(self, model: str, now: datetime | None = None) -> list[EntryRecord]:
        """Unexpired entries that the matcher of `model` cannot match: they need `facetrail watchlist reembed`."""
        having = {c.entry_id for c in self.template_counts() if c.model == model}
        return [r for r in self.records() if r.entry_id not in having and not r.expired(now)]

    def records(self) -> list[EntryRecord]:
        with self._db.session() as session:
            rows = session.scalars(select(WatchlistEntryRow).order_by(WatchlistEntryRow.display_name)).all()
            return [_record(r) for r in rows]

    def get(self, entry_id: str) -> EntryRecord | None:
        with self._db.session() as session:
            row = session.get(WatchlistEntryRow, entry_id)
            return _record(row) if row else None

    def find_by_name(self, display_name: str, watchlist: str | None = None) -> list[EntryRecord]:
        """Entries of this name as names are compared (facetrail.names.name_key), on one list or on all."""
        query = select(WatchlistEntryRow).where(WatchlistEntryRow.name_key == name_key(display_name))
        if watchlist is not None:
            query = query.where(WatchlistEntryRow.watchlist == watchlist)
        with self._db.session() as session:
            rows = session.scalars(query.order_by(WatchlistEntryRow.entry_id)).all()
            return [_record(r) for r in rows]

    def photo_keys(self, entry_id: str) -> list[str]:
        with self._db.session() as session:
            keys = session.scalars(
                select(EmbeddingRow.photo_key).where(EmbeddingRow.entry_id == entry_id, EmbeddingRow.photo_key.is_not(None))
                .distinct().order_by(EmbeddingRow.photo_key)
            ).all()
            return list(keys)

    def enrolled_people(self, model: str, now: datetime | None = None) -> list[EnrolledPerson]:
        """Unexpired entries with their templates of embedding model `model`: what that model's matcher loads."""
        now = now or datetime.now(timezone.utc)
        with self._db.session() as session:
            rows = session.scalars(select(WatchlistEntryRow).where(WatchlistEntryRow.expires_at > now)).all()
            people = []
            for row in rows:
                references = _vectors(row.embeddings, "reference", model)
                if len(references):
                    people.append(EnrolledPerson(_record(row), references, _vectors(row.embeddings, "rejected", model)))
            return people

    def save_operating_point(self, point: OperatingPoint) -> None:
        details = {"per_search_fpir": point.per_search_fpir, "per_pass_fpir": point.per_pass_fpir,
                   "expected_fnir": point.expected_fnir, "cohort_searches": point.cohort_searches,
                   "mated_searches": point.mated_searches}
        with self._db.session() as session, session.begin():
            session.add(OperatingPointRow(
                model=point.model, threshold=point.threshold, max_distance_ratio=point.max_distance_ratio,
                target_fpir=point.target_fpir, details=json.dumps(details), watchlist_version=point.watchlist_version,
                calibrated_by=point.calibrated_by, calibrated_at=point.calibrated_at))

    def operating_point(self, model: str) -> OperatingPoint | None:
        """The newest operating point calibrated for `model`."""
        with self._db.session() as session:
            row = session.scalars(select(OperatingPointRow).where(OperatingPointRow.model == model)
                                  .order_by(OperatingPointRow.id.desc()).limit(1)).first()
        if row is None:
            return None
        details = json.loads(row.details or "{}")
        return OperatingPoint(
            model=row.model, threshold=row.threshold, max_distance_ratio=row.max_distance_ratio,
            target_fpir=row.target_fpir, calibrated_at=row.calibrated_at, calibrated_by=row.calibrated_by,
            watchlist_version=row.watchlist_version, per_search_fpir=details.get("per_search_fpir"),
            per_pass_fpir=details.get("per_pass_fpir"), expected_fnir=details.get("expected_fnir"),
            cohort_searches=details.get("cohort_searches", 0), mated_searches=details.get("mated_searches", 0))

    def version(self) -> str:
        """Changes whenever an entry or template is added or removed, or an operating point is calibrated."""
        with self._db.session() as session:
            entries = session.execute(select(WatchlistEntryRow.entry_id, WatchlistEntryRow.expires_at).order_by(WatchlistEntryRow.entry_id)).all()
            embeddings = session.execute(select(EmbeddingRow.id).order_by(EmbeddingRow.id)).scalars().all()
            calibrated = session.scalar(select(func.max(OperatingPointRow.id)))
        parts = (entries, embeddings) if calibrated is None else (entries, embeddings, calibrated)
        digest = hashlib.sha256(repr(parts).encode()).hexdigest()
        return digest[:16]

    def set_expiry(self, entry_id: str, expires_at: datetime) -> bool:
        """Move an entry's expiry (extending it is audited by the caller); False when there is no such entry."""
        with self._db.session() as session, session.begin():
            row = session.get(WatchlistEntryRow, entry_id)
            if row is None:
                return False
            row.expires_at = expires_at
            return True

    def remove(self, entry_id: str) -> bool:
        """Delete an entry with its embeddings, sightings, tracks and visits (storage.entry_locks)."""
        with self._db.session() as session, session.begin():
            return remove_entry(session, entry_id)

    def expired(self, now: datetime | None = None) -> list[EntryRecord]:
        now = now or datetime.now(timezone.utc)
        with self._db.session() as session:
            rows = session.scalars(select(WatchlistEntryRow).where(WatchlistEntryRow.expires_at <= now)).all()
            return [_record(r) for r in rows]
