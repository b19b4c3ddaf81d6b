"""Audit records written out for an auditor: JSON lines or CSV, hashes included.

Every field that the hash covers is exported, so anyone holding an export can
re-run the chain check (`facetrail.audit.chain.verify_chain`) without our database.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime
from typing import Any, Iterable, TextIO

from facetrail.audit.chain import AuditRecord

FORMATS = ("jsonl", "csv")
COLUMNS = ("seq", "at", "actor", "action", "subject", "details", "prev_hash", "hash")


def _row(record: AuditRecord) -> dict[str, Any]:
    return {
        "seq": record.seq, "at": record.at.isoformat(timespec="microseconds"), "actor": record.actor,
        "action": record.action, "subject": record.subject, "details": record.details,
        "prev_hash": record.prev_hash, "hash": record.hash,
    }


def write_export(records: Iterable[AuditRecord], fmt: str, out: TextIO, since: datetime | None = None) -> int:
    """Write records at or after `since`; returns how many were written."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    writer = csv.DictWriter(out, fieldnames=COLUMNS) if fmt == "csv" else None
    if writer:
        writer.writeheader()
    written = 0
    for record in records:
        if since is not None and record.at < since:
            continue
        row = _row(record)
        if writer:
            writer.writerow({**row, "details": json.dumps(row["details"], sort_keys=True, ensure_ascii=False)})
        else:
            out.write(json.dumps(row, sort_keys=True, ensure_ascii=False) + "\n")
        written += 1
    return written
