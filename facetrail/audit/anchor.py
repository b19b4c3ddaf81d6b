"""The audit log's head anchor: the latest (seq, hash), kept outside the table.

The hash chain shows any edit, insertion or deletion *inside* the log, but not
the deletion of its last records: a shortened chain is still a valid chain.
So every append also moves an anchor that lives outside the database (a file
named by `audit.anchor`, next to the SQLite file by default); `verify` then checks that the table still
reaches the anchored record, with the anchored hash.

The anchor only ever moves forward: concurrent writers take a lock, and a
writer that committed an older record never overwrites a newer head.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path


class AnchorError(Exception):
    """The anchor exists but cannot be read; treated as tampering by `verify`."""


@dataclass(frozen=True)
class Head:
    seq: int
    hash: str


class FileAnchor:
    """The head as a small JSON file, replaced atomically under an exclusive lock."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock_path = self.path.with_name(self.path.name + ".lock")

    def __str__(self) -> str:
        return str(self.path)

    def read(self) -> Head | None:
        try:
            raw = json.loads(self.path.read_text())
            return Head(int(raw["seq"]), str(raw["hash"]))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise AnchorError(f"audit head anchor {self.path} is unreadable ({exc})") from None

    def advance(self, head: Head) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self._lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                current = self.read()
            except AnchorError:
                current = None  # never let a damaged anchor stop the log; verify still reports the gap
            if current is not None and current.seq >= head.seq:
                return
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".audit-head-")
            with os.fdopen(fd, "w") as handle:
                json.dump({"seq": head.seq, "hash": head.hash}, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)


def default_anchor(database_url: str, configured: Path | None = None) -> FileAnchor | None:
    """The configured anchor file, else `<database file>.audit-head` for SQLite; other databases need one configured."""
    if configured is not None:
        return FileAnchor(configured)
    if database_url.startswith("sqlite:///"):
        return FileAnchor(Path(database_url.removeprefix("sqlite:///") + ".audit-head"))
    logging.getLogger("facetrail.audit").warning(
        "the audit log has no head anchor (set audit.anchor): deleting its last records would not show")
    return None
