"""The audit log store: appends under a lock, verifies, exports.

Appends take the next sequence number inside one transaction; the unique
sequence key makes a concurrent writer's append fail and retry rather than
fork the chain. Triggers, installed with the schema (storage/migrate.py), make
the table append-only in the database itself.
Each append also advances the head anchor kept outside the table (see
anchor.py), so `verify` detects deletion of the last records too.
"""

from __future__ import annotations

import getpass
import json
from datetime import datetime, timezone
from typing import Any, Iterator

from sqlalchemy.exc import IntegrityError

from facetrail.audit.anchor import AnchorError, FileAnchor, Head, default_anchor
from facetrail.audit.chain import AuditRecord, ChainVerdict, UnreadableRecord, verify_chain
from facetrail.storage.audit_store import AuditFilter, AuditStore, RawRecord
from facetrail.storage.database import Database


def _stored_time(value: object) -> datetime:
    """The `at` column as stored: a datetime (PostgreSQL) or the text SQLite keeps, read without trusting it."""
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)


def _checked_record(row: RawRecord) -> AuditRecord | UnreadableRecord:
    seq, at, actor, action, subject, details, prev_hash, digest = row
    try:
        parsed = json.loads(details)
        if not isinstance(parsed, dict):
            raise ValueError("details are not a JSON object")
        return AuditRecord(seq, _stored_time(at), actor, action, subject, parsed, prev_hash, digest)
    except (TypeError, ValueError) as exc:
        return UnreadableRecord(seq, prev_hash, digest, f"{type(exc).__name__}: {str(exc)[:120]}")


_DEFAULT = object()


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
        self._store = AuditStore(db)
        self.anchor: FileAnchor | None = default_anchor(db.url) if anchor is _DEFAULT else anchor

    def record(self, actor: str, action: str, subject: str = "", details: dict[str, Any] | None = None) -> AuditRecord:
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

    def _append(self, actor: str, action: str, subject: str, details: dict[str, Any]) -> AuditRecord:
        return self._store.append(actor, action, subject, details)

    def records(self, since_seq: int = 0, limit: int | None = None) -> list[AuditRecord]:
        return self._store.records(since_seq, limit)

    def iter_all(self, batch: int = 5000) -> Iterator[AuditRecord]:
        after = 0
        while chunk := self.records(after, batch):
            yield from chunk
            after = chunk[-1].seq

    def _checked_records(self, batch: int = 5000) -> Iterator[AuditRecord | UnreadableRecord]:
        """Every stored row, read column by column so that a malformed one is reported, not raised."""
        after = 0
        while True:
            rows = self._store.raw_records(after, batch)
            if not rows:
                return
            yield from (_checked_record(row) for row in rows)
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

    def search(self, audit_filter: AuditFilter, limit: int = 100, offset: int = 0) -> tuple[list[AuditRecord], int]:
        """Records matching the filter, newest first, and how many match in all."""
        return self._store.search(audit_filter, limit, offset)

    def count(self) -> int:
        return self._store.count()
