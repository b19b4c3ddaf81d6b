"""The audit log's table: appends that take the next sequence number, reads in order.

The unique sequence key makes a concurrent writer's append fail (IntegrityError) rather than fork the chain;
the audit log retries it (audit/log.py). Triggers installed with the schema (storage/migrate.py) make the
table append-only in the database itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import ColumnElement, Text, func, or_, select, type_coerce

from facetrail.audit.chain import GENESIS, AuditRecord, record_hash
from facetrail.storage.database import Database
from facetrail.storage.models import AuditRow

RawRecord = tuple[Any, ...]
"""A stored row as it is, column by column (seq, at as text, actor, action, subject, details, prev_hash, hash)."""


def _record(row: AuditRow) -> AuditRecord:
    return AuditRecord(row.seq, row.at, row.actor, row.action, row.subject, json.loads(row.details), row.prev_hash, row.hash)


@dataclass(frozen=True)
class AuditFilter:
    """Which records an auditor asks for; None matches anything. `action` also matches the actions under it
    ('watchlist' matches 'watchlist.enrol'); `actor` matches names that start with it, in any case ('ali' matches 'Alice')."""

    actor: str | None = None
    action: str | None = None
    subject: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _conditions(wanted: AuditFilter) -> list[ColumnElement[bool]]:
    found = []
    if wanted.actor is not None:
        # auditors remember "Alice" or "ali", not the exact account name: any case, from the start of the name
        found.append(func.lower(AuditRow.actor).startswith(wanted.actor.lower(), autoescape=True))
    if wanted.action is not None:
        found.append(or_(AuditRow.action == wanted.action, AuditRow.action.startswith(wanted.action + ".", autoescape=True)))
    if wanted.subject is not None:
        found.append(AuditRow.subject == wanted.subject)
    if wanted.since is not None:
        found.append(AuditRow.at >= wanted.since)
    if wanted.until is not None:
        found.append(AuditRow.at <= wanted.until)
    return found


class AuditStore:
    def __init__(self, db: Database):
        self._db = db

    def append(self, actor: str, action: str, subject: str, details: dict[str, Any]) -> AuditRecord:
        """Chain one record onto the last: one transaction; raises IntegrityError when another writer took its seq."""
        with self._db.session() as session, session.begin():
            last = session.execute(select(AuditRow.seq, AuditRow.hash).order_by(AuditRow.seq.desc()).limit(1)).first()
            seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
            at = datetime.now(timezone.utc)
            digest = record_hash(seq, at, actor, action, subject, details, prev)
            row = AuditRow(seq=seq, at=at, actor=actor, action=action, subject=subject,
                           details=json.dumps(details, sort_keys=True), prev_hash=prev, hash=digest)
            session.add(row)
        return _record(row)

    def records(self, since_seq: int = 0, limit: int | None = None) -> list[AuditRecord]:
        query = select(AuditRow).where(AuditRow.seq > since_seq).order_by(AuditRow.seq)
        if limit is not None:
            query = query.limit(limit)
        with self._db.session() as session:
            return [_record(r) for r in session.scalars(query).all()]

    def raw_records(self, since_seq: int, limit: int) -> list[RawRecord]:
        """Stored rows read column by column, the time as text, so that a malformed one can be reported, not raised."""
        columns = (AuditRow.seq, type_coerce(AuditRow.at, Text), AuditRow.actor, AuditRow.action, AuditRow.subject,
                   AuditRow.details, AuditRow.prev_hash, AuditRow.hash)
        with self._db.session() as session:
            rows = session.execute(select(*columns).where(AuditRow.seq > since_seq).order_by(AuditRow.seq).limit(limit)).all()
        return [tuple(row) for row in rows]

    def count(self) -> int:
        with self._db.session() as session:
            return session.scalar(select(func.count()).select_from(AuditRow)) or 0

    def search(self, wanted: AuditFilter, limit: int, offset: int) -> tuple[list[AuditRecord], int]:
        """Records matching the filter, newest first, and how many match in all."""
        conditions = _conditions(wanted)
        with self._db.session() as session:
            total = session.scalar(select(func.count()).select_from(AuditRow).where(*conditions)) or 0
            rows = session.scalars(select(AuditRow).where(*conditions).order_by(AuditRow.seq.desc())
                                   .limit(limit).offset(offset)).all()
            return [_record(r) for r in rows], total
