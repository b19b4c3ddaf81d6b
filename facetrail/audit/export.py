"""Audit records written out for an auditor: JSON lines or CSV, hashes included.

Every field that the hash covers is exported, so anyone holding an export can
re-run the chain check (`facetrail.audit.chain.verify_chain`) without our database.

Records hold text that attackers choose (the user name of a failed login), so an
export is made safe to open: JSON lines escape every control, bidirectional and
line-separator character (``\u001b``; json.loads gives the exact text back, so
the chain check still holds), and CSV, made for spreadsheets and eyes, shows
those characters as the same escapes and neutralises every cell that a
spreadsheet would run as a formula (one starting with = + - @ tab or carriage
return gets a leading apostrophe, as OWASP's CSV injection guidance says). The
JSON lines export is the exact one; the CSV export is for reading.
"""

from __future__ import annotations

import csv
import json
import re
from datetime import datetime
from typing import Any, Iterable, TextIO

from facetrail.audit.chain import AuditRecord

FORMATS = ("jsonl", "csv")
COLUMNS = ("seq", "at", "actor", "action", "subject", "details", "prev_hash", "hash")
# C0 and C1 controls, DEL, bidirectional controls and marks, line and paragraph separators: none reaches a reader raw.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _escaped(text: str) -> str:
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def json_line(value: Any) -> str:
    """JSON with no raw control or bidirectional character (JSON's own \\uXXXX escapes: nothing is lost)."""
    return _escaped(json.dumps(value, sort_keys=True, ensure_ascii=False))


def csv_cell(value: Any) -> str:
    """A cell safe in a spreadsheet and on a terminal: controls shown as escapes, formulas neutralised."""
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        text = "'" + text
    return _escaped(text)


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
            row["details"] = json.dumps(row["details"], sort_keys=True, ensure_ascii=False)
            writer.writerow({name: csv_cell(value) for name, value in row.items()})
        else:
            out.write(json_line(row) + "\n")
        written += 1
    return written
