"""How far each recorded file has been reprocessed, so an interrupted run resumes where it stopped."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy.exc import IntegrityError

from facetrail.storage.database import Database
from facetrail.storage.models import ReprocessProgressRow
from facetrail.storage.reachability import DatabaseLink, ride_out


def source_id(camera_id: str, file_sha256: str, start: datetime) -> str:
    """What defines a reprocessing's result: the camera, the file's content and the moment it began.

    A file rewritten in place (new content) or renamed (same content) is keyed by its content; the same file
    with another ``--start`` gives other sightings, so it is another piece of work."""
    key = f"{camera_id}|{file_sha256}|{start.astimezone(timezone.utc).isoformat()}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Progress:
    done_until_s: float
    completed: bool


@dataclass
class ProgressLedger:
    db: Database
    patience_s: float = 0.0
    """How long a checkpoint waits for an unreachable database before the run fails (storage.reachability)."""
    link: DatabaseLink = field(default_factory=lambda: DatabaseLink("reprocess"))

    def load(self, sid: str) -> Progress | None:
        return ride_out(lambda: self._load(sid), self.link, self.patience_s)

    def _load(self, sid: str) -> Progress | None:
        with self.db.session() as session:
            row = session.get(ReprocessProgressRow, sid)
            return None if row is None else Progress(row.done_until_s, row.completed)

    def save(self, sid: str, camera_id: str, path: Path, done_until_s: float, completed: bool) -> None:
        """Record progress; two runs of one piece of work at once both succeed (the later write wins)."""
        ride_out(lambda: self._save(sid, camera_id, path, done_until_s, completed), self.link, self.patience_s)

    def _save(self, sid: str, camera_id: str, path: Path, done_until_s: float, completed: bool) -> None:
        for attempt in range(2):
            try:
                with self.db.session() as session, session.begin():
                    row = session.get(ReprocessProgressRow, sid) or ReprocessProgressRow(
                        source_id=sid, camera_id=camera_id, path=str(path))
                    row.done_until_s, row.completed, row.updated_at = done_until_s, completed, datetime.now(timezone.utc)
                    session.add(row)
                return
            except IntegrityError:  # the other run inserted the row between our look and our insert
                if attempt:
                    raise

    def forget(self, sid: str) -> None:
        with self.db.session() as session, session.begin():
            row = session.get(ReprocessProgressRow, sid)
            if row is not None:
                session.delete(row)
