"""Write-ahead logging for the embedded SQLite files (the local bus and the local database), and erasing from them.

Several processes open the same new file at once (a worker per core, the service, the API). Switching
a file to WAL takes it from a shared to an exclusive lock, and when two connections do that together
SQLite answers one of them "database is locked" at once, without waiting for its busy timeout (waiting
could deadlock them). The loser's statement has then let its lock go, so trying again shortly succeeds.

Deleted rows must not linger in a file either: every connection sets secure_delete, so SQLite overwrites
what it deletes with zeros, and after an erasure `checkpoint_and_truncate` moves the write-ahead log into
the database and empties it, so no older copy of an erased page stays in the log.
"""

from __future__ import annotations

import sqlite3
import time

RETRY_EVERY_S = 0.02


def switch_to_wal(connection: sqlite3.Connection, timeout_s: float = 30.0) -> None:
    """PRAGMA journal_mode=WAL (and secure_delete) on a DB-API sqlite3 connection, retried while another process holds the lock."""
    connection.execute("PRAGMA secure_delete=ON")
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(RETRY_EVERY_S)


def checkpoint_and_truncate(connection: sqlite3.Connection) -> None:
    """Copy the write-ahead log into the database and empty it (waiting for readers, as the busy timeout allows)."""
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
