"""The audit log store: appends under a lock, verifies, exports.

Appends take the next sequence number inside one transaction; the unique
sequence key makes a concurrent writer's append fail and retry rather than
fork the chain. Triggers make the table append-only in the database itself.
Each append also advances the head anchor kept outside the table (see
anchor.py), so `verify` detects deletion of the last records too.
"""

from __future__ import annotations

import getpass
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterator

from sqlalchemy import Text, func, or_, select, text, type_coerce
from sqlalchemy.exc import IntegrityError

from facetrail.audit.anchor import AnchorError, FileAnchor, Head, default_anchor
from facetrail.audit.chain import GENESIS, AuditRecord, ChainVerdict, UnreadableRecord, record_hash, verify_chain
from facetrail.storage.database import Database
from facetrail.storage.models import AuditRow

_SQLITE_GUARDS = [
    "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
]
_POSTGRES_GUARDS = [
    "CREATE OR REPLACE FUNCTION facetrail_audit_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'the audit log is append-only'; END; $$ LANGUAGE plpgsql",
    "DROP TRIGGER IF EXISTS audit_append_only ON audit_log",
    "CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION facetrail_audit_append_only()",
]


def _install_guards(db: Database) -> None:
    statements = _SQLITE_GUARDS if db.engine.dialect.name == "sqlite" else _POSTGRES_GUARDS
    with db.engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))


def _record(row: AuditRow) -> AuditRecord:
    return AuditRecord(row.seq, row.at, row.actor, row.action, row.subject, json.loads(row.details), row.prev_hash, row.hash)


def _stored_time(value) -> datetime:
    """The `at` column as stored: a datetime (PostgreSQL) or the text SQLite keeps, read without trusting it."""
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)


def _checked_record(row) -> AuditRecord | UnreadableRecord:
    seq, at, actor, action, subject, details, prev_hash, digest = row
    try:
        parsed = json.loads(details)
        if not isinstance(parsed, dict):
            raise ValueError("details are not a JSON object")
        return AuditRecord(seq, _stored_time(at), actor, action, subject, parsed, prev_hash, digest)
    except (TypeError, ValueError) as exc:
        return UnreadableRecord(seq, prev_hash, digest, f"{type(exc).__name__}: {str(exc)[:120]}")


_DEFAULT = object()


@dataclass(frozen=True)
class AuditFilter:
    """Which records an auditor asks for; None matches anything. `action` also matches the actions under it
    ('watchlist' matches 'watchlist.enrol')."""

    actor: str | None = None
    action: str | None = None
    subject: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def conditions(self) -> list:
        found = []
        if self.actor is not None:
            found.append(AuditRow.actor == self.actor)
        if self.action is not None:
            found.append(or_(AuditRow.action == self.action, AuditRow.action.startswith(self.action + ".", autoescape=True)))
        if self.subject is not None:
            found.append(AuditRow.subject == self.subject)
        if self.since is not None:
            found.append(AuditRow.at >= self.since)
        if self.until is not None:
            found.append(AuditRow.at <= self.until)
        return found


def os_user() -> str:
    """Who is at the keyboard: the actor of audit records made from the command line."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown-os-user"


def _check_head(verdict: ChainVerdict, last: AuditRecord | UnreadableRecord | None, anchored: dict[int, str], head: Head | None) -> ChainVerdict:
    """The chain must reach the anchored head, and hold the anchored hash there."""
    last_seq = last.seq if last else 0
    if head is None:
        if last is None:
            return verdict
        return ChainVerdict(False, verdict.records, last_seq,
                            "the head anchor is missing: cannot show that no last records were deleted")
    if head.seq > last_seq:
        return ChainVerdict(False, verdict.records, last_seq + 1,
                            f"the log ends at seq {last_seq} but its head anchor records seq {head.seq}: "
                            f"the last {head.seq - last_seq} record(s) were deleted")
    if anchored.get(head.seq) != head.hash:
        return ChainVerdict(False, verdict.records, head.seq, "the record at the head anchor has a different hash (the log was rewritten)")
    return verdict


class AuditLog:
    def __init__(self, db: Database, anchor: FileAnchor | None = _DEFAULT):  # type: ignore[assignment]
        self._db = db
        self.anchor: FileAnchor | None = default_anchor(db.url) if anchor is _DEFAULT else anchor
        _install_guards(db)

    def record(self, actor: str, action: str, subject: str = "", details: dict | None = None) -> AuditRecord:
        details = json.loads(json.dumps(details or {}, default=str))
        for _ in range(20):
            try:
                appended = self._append(actor, action, subject, details)
            except IntegrityError:
                continue  # another writer took this sequence number; chain onto theirs
            if self.anchor is not None:
                self.anchor.advance(Head(appended.seq, appended.hash))
            return appended
        raise RuntimeError("could not append to the audit log under contention")

    def _append(self, actor: str, action: str, subject: str, details: dict) -> AuditRecord:
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

    def iter_all(self, batch: int = 5000) -> Iterator[AuditRecord]:
        after = 0
        while chunk := self.records(after, batch):
            yield from chunk
            after = chunk[-1].seq

    def _checked_records(self, batch: int = 5000) -> Iterator[AuditRecord | UnreadableRecord]:
        """Every stored row, read column by column so that a malformed one is reported, not raised."""
        columns = (AuditRow.seq, type_coerce(AuditRow.at, Text), AuditRow.actor, AuditRow.action, AuditRow.subject,
                   AuditRow.details, AuditRow.prev_hash, AuditRow.hash)
        after = 0
        while True:
            with self._db.session() as session:
                rows = session.execute(select(*columns).where(AuditRow.seq > after).order_by(AuditRow.seq).limit(batch)).all()
            if not rows:
                return
            yield from (_checked_record(tuple(row)) for row in rows)
            after = rows[-1][0]

    def verify(self) -> ChainVerdict:
        """The chain is intact and reaches the head anchor (when there is one); every broken record is listed."""
        records = list(self._checked_records())
        verdict = verify_chain(records)
        if self.anchor is None:
            return verdict
        try:
            head = self.anchor.read()
        except AnchorError as exc:
            at_head = ChainVerdict(False, len(records), None, str(exc))
        else:
            anchored = {r.seq: r.hash for r in records if head is not None and r.seq == head.seq}
            at_head = _check_head(ChainVerdict(True, len(records)), records[-1] if records else None, anchored, head)
        if at_head.ok:
            return verdict
        problems = (*verdict.problems, (at_head.first_bad_seq, at_head.reason))
        return ChainVerdict(False, len(records), problems[0][0], problems[0][1], problems)

    def search(self, audit_filter: "AuditFilter", limit: int = 100, offset: int = 0) -> tuple[list[AuditRecord], int]:
        """Records matching the filter, newest first, and how many match in all."""
        conditions = audit_filter.conditions()
        with self._db.session() as session:
            total = session.scalar(select(func.count()).select_from(AuditRow).where(*conditions)) or 0
            rows = session.scalars(select(AuditRow).where(*conditions).order_by(AuditRow.seq.desc())
                                   .limit(limit).offset(offset)).all()
            return [_record(r) for r in rows], total

    def count(self) -> int:
        with self._db.session() as session:
            return session.scalar(select(func.count()).select_from(AuditRow)) or 0
