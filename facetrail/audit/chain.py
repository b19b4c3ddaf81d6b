"""Hash chaining of audit records: each record's hash covers its content and the previous hash.

Editing, inserting or deleting any record breaks every hash after it, which
`verify_chain` reports with the first sequence number that fails.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    details: dict
    prev_hash: str
    hash: str


def record_hash(seq: int, at: datetime, actor: str, action: str, subject: str, details: dict, prev_hash: str) -> str:
    canonical = json.dumps(
        [seq, at.isoformat(timespec="microseconds"), actor, action, subject, details, prev_hash],
        sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class ChainVerdict:
    ok: bool
    records: int
    first_bad_seq: int | None = None
    reason: str = ""


def verify_chain(records: list[AuditRecord]) -> ChainVerdict:
    expected_prev, expected_seq = GENESIS, 1
    for record in records:
        if record.seq != expected_seq:
            return ChainVerdict(False, len(records), record.seq, f"sequence gap: expected {expected_seq}, found {record.seq} (a record was deleted or inserted)")
        if record.prev_hash != expected_prev:
            return ChainVerdict(False, len(records), record.seq, "link to the previous record is broken (a record was deleted, inserted or edited)")
        recomputed = record_hash(record.seq, record.at, record.actor, record.action, record.subject, record.details, record.prev_hash)
        if recomputed != record.hash:
            return ChainVerdict(False, len(records), record.seq, "content does not match its hash (the record was edited)")
        expected_prev, expected_seq = record.hash, expected_seq + 1
    return ChainVerdict(True, len(records))
