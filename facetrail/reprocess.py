"""Reprocessing recorded footage through the live pipeline, resumably.

Progress is checkpointed at a frame where no pass is open (or at the start of
the oldest open one), so a resumed run re-creates the same passes with the
same event ids: nothing is lost and nothing is duplicated.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterator

from facetrail.analytics.pipeline import CameraAnalyser, LookedFrame
from facetrail.ingest.camera import READ_AHEAD_FRAMES, read_file
from facetrail.ingest.frames import Frame
from facetrail.ingest.readahead import read_ahead
from facetrail.publisher import SightingPublisher
from facetrail.storage.database import Database
from facetrail.storage.models import ReprocessProgressRow

CHECKPOINT_EVERY_S = 5.0


def source_id(camera_id: str, path: Path) -> str:
    stat = path.stat()
    key = f"{camera_id}|{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


@dataclass
class ProgressLedger:
    db: Database

    def load(self, sid: str) -> ReprocessProgressRow | None:
        with self.db.session() as session:
            return session.get(ReprocessProgressRow, sid)

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


@dataclass(frozen=True)
class FileResult:
    path: Path
    resumed_from_s: float
    sightings_published: int
    skipped: bool = False


def reprocess_file(
    path: Path,
    camera_id: str,
    start: datetime,
    analyser: CameraAnalyser,
    publisher: SightingPublisher,
    ledger: ProgressLedger,
    progress: Callable[[float], None] | None = None,
    again: bool = False,
) -> FileResult:
    sid = source_id(camera_id, path)
    if again:
        ledger.forget(sid)
    previous = ledger.load(sid)
    if previous is not None and previous.completed:
        return FileResult(path, previous.done_until_s, 0, skipped=True)
    resume_s = previous.done_until_s if previous else 0.0
    published, next_checkpoint, offset = 0, resume_s + CHECKPOINT_EVERY_S, resume_s
    frames = read_file(camera_id, str(path), analyser.analysis.fps, start, resume_s, progress)
    # Three stages on their own threads, in order: decoding, looking (motion, detection), analysing (tracking, embedding).
    for looked in read_ahead(_looked_at(analyser, frames), READ_AHEAD_FRAMES, name=f"look-{camera_id}"):
        frame = looked.frame
        for matched in analyser.analyse(looked):
            publisher.publish(matched.event, matched.crop_jpeg)
            published += 1
        offset = (frame.captured_at - start).total_seconds()
        if offset >= next_checkpoint:
            publisher.flush()
            open_since = analyser.open_since()
            safe = offset if open_since is None else (open_since - start).total_seconds()
            ledger.save(sid, camera_id, path, max(resume_s, safe), completed=False)
            next_checkpoint = offset + CHECKPOINT_EVERY_S
    for matched in analyser.finish():
        publisher.publish(matched.event, matched.crop_jpeg)
        published += 1
    publisher.flush()
    ledger.save(sid, camera_id, path, offset, completed=True)
    return FileResult(path, resume_s, published)


def _looked_at(analyser: CameraAnalyser, frames: Iterator[Frame]) -> Iterator[LookedFrame]:
    try:
        for frame in frames:
            yield analyser.look(frame)
    finally:
        frames.close()  # an interrupted run stops the decoding thread at once


def recording_start(path: Path, duration_s: float | None) -> datetime:
    """When a recording began, taking its modification time as the moment it was closed."""
    closed = datetime.fromtimestamp(os.stat(path).st_mtime, timezone.utc)
    return closed - timedelta(seconds=duration_s or 0.0)


def consecutive_starts(durations: list[float | None], start: datetime) -> list[datetime]:
    """Start times of recordings that follow each other without a gap."""
    starts, at = [], start
    for duration in durations:
        starts.append(at)
        at = at + timedelta(seconds=duration or 0.0)
    return starts
