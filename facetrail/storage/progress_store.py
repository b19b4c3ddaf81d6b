"""How far each recorded file has been reprocessed, so an interrupted run resumes where it stopped."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from facetrail.storage.database import Database
from facetrail.storage.models import ReprocessProgressRow


def source_id(camera_id: str, path: Path) -> str:
    """One file of one camera, as it is now: a file rewritten in place is a new source."""
    stat = path.stat()
    key = f"{camera_id}|{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Progress:
    done_until_s: float
    completed: bool


@dataclass
class ProgressLedger:
    db: Database

    def load(self, sid: str) -> Progress | None:
        with self.db.session() as session:
            row = session.get(ReprocessProgressRow, sid)
            return None if row is None else Progress(row.done_until_s, row.completed)

    def save(self, sid: str, camera_id: str, path: Path, done_until_s: float, completed: bool) -> None:
        with self.db.session() as session, session.begin():
            row = session.get(ReprocessProgressRow, sid) or ReprocessProgressRow(source_id=sid, camera_id=camera_id, path=str(path))
            row.done_until_s, row.completed, row.updated_at = done_until_s, completed, datetime.now(timezone.utc)
            session.add(row)

    def forget(self, sid: str) -> None:
        with self.db.session() as session, session.begin():
            row = session.get(ReprocessProgressRow, sid)
            if row is not None:
                session.delete(row)
