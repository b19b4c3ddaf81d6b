"""Tombstones of erased watch-list entries: a keyed hash of each erased entry id, kept while the bus may still
hold that person's messages (Kafka cannot delete single messages; its topics keep them ``retention.ms``).

The trajectory service refuses a replayed sighting whose entry is among them, and says so, counted. The hash
is an HMAC-SHA256 under a random key this deployment keeps in its own database (``site_keys``), so the
tombstone names nobody to whoever holds neither the key nor the id; it is deleted when the bus's retention
has passed (the retention sweep).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Collection
from datetime import datetime, timezone

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from facetrail.storage.database import Database
from facetrail.storage.models import ErasedEntryRow, SiteKeyRow

_KEY_NAME = "erased-entries"


class ErasedEntries:
    def __init__(self, db: Database):
        self._db = db
        self._key: bytes | None = None

    def _secret(self) -> bytes:
        if self._key is None:
            with self._db.session() as session:
                self._key = session.scalar(select(SiteKeyRow.secret).where(SiteKeyRow.name == _KEY_NAME))
            if self._key is None:
                try:
                    with self._db.session() as session, session.begin():
                        session.add(SiteKeyRow(name=_KEY_NAME, secret=secrets.token_bytes(32)))
                except IntegrityError:
                    pass  # another process made it first: theirs is the key
                with self._db.session() as session:
                    self._key = session.scalar(select(SiteKeyRow.secret).where(SiteKeyRow.name == _KEY_NAME))
        assert self._key is not None
        return self._key

    def _hash(self, entry_id: str) -> str:
        return hmac.new(self._secret(), entry_id.encode(), hashlib.sha256).hexdigest()

    def record(self, entry_id: str, forget_after: datetime) -> None:
        """Remember that ``entry_id`` was erased, until ``forget_after``."""
        digest = self._hash(entry_id)
        with self._db.session() as session, session.begin():
            row = session.get(ErasedEntryRow, digest)
            if row is None:
                session.add(ErasedEntryRow(entry_hash=digest, forget_after=forget_after))
            else:
                row.forget_after = max(row.forget_after, forget_after)

    def erased_among(self, entry_ids: Collection[str]) -> set[str]:
        """Those of ``entry_ids`` that were erased (and are still remembered)."""
        if not entry_ids:
            return set()
        by_hash = {self._hash(entry_id): entry_id for entry_id in entry_ids}
        with self._db.session() as session:
            found = session.scalars(select(ErasedEntryRow.entry_hash).where(ErasedEntryRow.entry_hash.in_(list(by_hash))))
            return {by_hash[digest] for digest in found}

    def forget_before(self, now: datetime | None = None) -> int:
        """Delete the tombstones whose time has passed; returns how many."""
        moment = now or datetime.now(timezone.utc)
        with self._db.session() as session, session.begin():
            return session.execute(delete(ErasedEntryRow).where(ErasedEntryRow.forget_after <= moment)).rowcount or 0

    def count(self) -> int:
        with self._db.session() as session:
            return len(session.scalars(select(ErasedEntryRow.entry_hash)).all())
