"""Hash chaining of audit records: each record's hash covers its content and the previous hash.

Editing, inserting or deleting any record breaks every hash after it, which
`verify_chain` reports with the first sequence number that fails. It carries
on past a bad record (following the hash stored with it), so one check lists
every broken record, unreadable ones included, not only the first.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    details: dict[str, Any]
    prev_hash: str
    hash: str


def record_hash(seq: int, at: datetime, actor: str, action: str, subject: str, details: dict[str, Any], prev_hash: str) -> str:
    canonical = json.dumps(
        [seq, at.isoformat(timespec="microseconds"), actor, action, subject, details, prev_hash],
        sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class UnreadableRecord:
    """A stored row that cannot be read as a record (bad JSON in details, a time that is no time): broken by definition."""

    seq: int
    prev_hash: str
    hash: str
    why: str


@dataclass(frozen=True)
class ChainVerdict:
    ok: bool
    records: int
    first_bad_seq: int | None = None
    reason: str = ""
    problems: tuple[tuple[int | None, str], ...] = ()  # (seq, reason) of every broken record, in order; None: the anchor


def _problems_of(record: AuditRecord | UnreadableRecord, expected_seq: int, expected_prev: str) -> list[str]:
    found = []
    if record.seq != expected_seq:
        found.append(f"sequence gap: expected {expected_seq}, found {record.seq} (a record was deleted or inserted)")
    elif record.prev_hash != expected_prev:
        found.append("link to the previous record is broken (a record was deleted, inserted or edited)")
    if isinstance(record, UnreadableRecord):
        found.append(f"the record is unreadable ({record.why}): it was edited outside facetrail")
    elif record_hash(record.seq, record.at, record.actor, record.action, record.subject, record.details,
                     record.prev_hash) != record.hash:
        found.append("content does not match its hash (the record was edited)")
    return found


def verify_chain(records: list[AuditRecord | UnreadableRecord]) -> ChainVerdict:
    expected_prev, expected_seq = GENESIS, 1
    problems: list[tuple[int, str]] = []
    for record in records:
        problems += [(record.seq, "; ".join(found))] if (found := _problems_of(record, expected_seq, expected_prev)) else []
        expected_prev, expected_seq = record.hash, record.seq + 1
    if not problems:
        return ChainVerdict(True, len(records))
    return ChainVerdict(False, len(records), problems[0][0], problems[0][1], tuple(problems))
