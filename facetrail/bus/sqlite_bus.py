"""Embedded durable bus: an append-only SQLite log with per-group committed offsets.

Every publish is a committed transaction in WAL mode, so a crash or restart of
any process loses nothing; consumers resume from their group's last commit.
Several processes may publish and consume at once.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from facetrail.bus.base import Record
from facetrail.sqlite_wal import checkpoint_and_truncate, switch_to_wal

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    offset INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    published_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_topic ON messages (topic, offset);
CREATE TABLE IF NOT EXISTS group_offsets (
    grp TEXT NOT NULL,
    topic TEXT NOT NULL,
    committed INTEGER NOT NULL,
    PRIMARY KEY (grp, topic)
);
"""


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
    switch_to_wal(conn)
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.executescript(_SCHEMA)
    return conn


class SqliteConsumer:
    def __init__(self, path: Path, topic: str, group: str, poll_interval_s: float = 0.05):
        self._conn = _connect(path)
        self._topic = topic
        self._group = group
        self._poll_interval_s = poll_interval_s
        self._position = self._committed()

    def _committed(self) -> int:
        row = self._conn.execute(
            "SELECT committed FROM group_offsets WHERE grp=? AND topic=?", (self._group, self._topic)
        ).fetchone()
        return row[0] if row else 0

    def poll(self, timeout_s: float, max_records: int = 500) -> list[Record]:
        deadline = time.monotonic() + timeout_s
        while True:
            rows = self._conn.execute(
                "SELECT offset, key, value FROM messages WHERE topic=? AND offset>? ORDER BY offset LIMIT ?",
                (self._topic, self._position, max_records),
            ).fetchall()
            if rows:
                self._position = rows[-1][0]
                return [Record(self._topic, key, bytes(value), offset) for offset, key, value in rows]
            if time.monotonic() >= deadline:
                return []
            time.sleep(self._poll_interval_s)

    def commit(self) -> None:
        self._conn.execute(
            "INSERT INTO group_offsets (grp, topic, committed) VALUES (?, ?, ?) "
            "ON CONFLICT (grp, topic) DO UPDATE SET committed=excluded.committed",
            (self._group, self._topic, self._position),
        )

    def lag(self) -> int:
        row = self._conn.execute(
            "SELECT COUNT(*) FROM messages WHERE topic=? AND offset>?", (self._topic, self._committed())
        ).fetchone()
        return row[0]

    def close(self) -> None:
        self._conn.close()


class SqliteBus:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._conn = _connect(self.path)
        self._lock = threading.Lock()

    def publish(self, topic: str, key: str, value: bytes) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO messages (topic, key, value, published_at) VALUES (?, ?, ?, ?)",
                (topic, key, value, time.time()),
            )

    def publish_many(self, topic: str, messages: list[tuple[str, bytes]]) -> None:
        """All in one committed transaction: one WAL sync instead of one per message."""
        now = time.time()
        with self._lock:
            # The connection autocommits each statement (and so each row of an executemany): begin explicitly.
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(
                    "INSERT INTO messages (topic, key, value, published_at) VALUES (?, ?, ?, ?)",
                    [(topic, key, value, now) for key, value in messages],
                )
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def flush(self, timeout_s: float = 10.0) -> None:
        """Every publish is already committed."""

    def consumer(self, topic: str, group: str) -> SqliteConsumer:
        return SqliteConsumer(self.path, topic, group)

    def messages(self, topic: str) -> list[Record]:
        """Every message on a topic, oldest first (for audits and privacy scans)."""
        rows = self._conn.execute(
            "SELECT offset, key, value FROM messages WHERE topic=? ORDER BY offset", (topic,)
        ).fetchall()
        return [Record(topic, key, bytes(value), offset) for offset, key, value in rows]

    def delete_published_before(self, before_epoch_s: float) -> int:
        """Retention on the log itself: messages published before the cut-off go, on every topic."""
        with self._lock:
            return self._conn.execute("DELETE FROM messages WHERE published_at < ?", (before_epoch_s,)).rowcount

    def delete_where_key(self, topic: str, key: str) -> int:
        """Erase a person's messages (erasure requests reach the bus too), leaving no copy in the write-ahead log."""
        with self._lock:
            deleted = self._conn.execute("DELETE FROM messages WHERE topic=? AND key=?", (topic, key)).rowcount
            checkpoint_and_truncate(self._conn)
            return deleted

    def close(self) -> None:
        self._conn.close()
