"""Reprocessing recorded footage through the live pipeline, resumably.

Progress is checkpointed at a frame where no pass is open (or at the start of
the oldest open one), so a resumed run re-creates the same passes with the
same event ids: nothing is lost and nothing is duplicated.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Generator, Iterator

from facetrail.analytics.pipeline import CameraAnalyser, CameraCounters, LookedFrame, MatchedPass
from facetrail.health import CameraHealth
from facetrail.ingest.camera import READ_AHEAD_FRAMES, SourceError, read_file
from facetrail.ingest.frames import Frame
from facetrail.ingest.readahead import read_ahead
from facetrail.publisher import SightingPublisher
from facetrail.storage.health_store import HealthStore
from facetrail.storage.progress_store import ProgressLedger, source_id

CHECKPOINT_EVERY_S = 5.0
# A live worker's report this recent keeps the camera's health: reprocessing old footage does not hide a live stream.
LIVE_REPORT_WINS_S = 60.0


@dataclass(frozen=True)
class FileResult:
    path: Path
    resumed_from_s: float
    sightings_published: int
    skipped: bool = False
    damaged: str | None = None
    """Why decoding stopped before the end (a truncated or damaged recording): its readable part was analysed."""


def reprocess_file(
    path: Path,
    camera_id: str,
    start: datetime,
    analyser: CameraAnalyser,
    publisher: SightingPublisher,
    ledger: ProgressLedger,
    progress: Callable[[float], None] | None = None,
    again: bool = False,
    digest: str | None = None,
) -> FileResult:
    """``digest``: the file's SHA-256 when the caller has it (ReprocessRun.digests), else read here."""
    sid = source_id(camera_id, digest or file_sha256(path), start)
    if again:
        ledger.forget(sid)
    previous = ledger.load(sid)
    if previous is not None and previous.completed:
        return FileResult(path, previous.done_until_s, 0, skipped=True)
    resume_s = previous.done_until_s if previous else 0.0
    published, next_checkpoint, offset, read = 0, resume_s + CHECKPOINT_EVERY_S, resume_s, 0
    damaged = None
    frames = read_file(camera_id, str(path), analyser.analysis.fps, start, resume_s, progress)
    try:
        for frame, matched_passes in analysed(analyser, frames):
            read += 1
            for matched in matched_passes:
                publisher.publish(matched.event, matched.crop_jpeg)
                published += 1
            offset = (frame.captured_at - start).total_seconds()
            if offset >= next_checkpoint:
                publisher.flush()
                ledger.save(sid, camera_id, path, max(resume_s, safe_point_s(analyser, start, offset)), completed=False)
                next_checkpoint = offset + CHECKPOINT_EVERY_S
    except SourceError as exc:
        if not read:
            raise  # nothing readable at all: the file is refused
        damaged = f"{exc} after {offset:.1f}s"  # a truncated recording: its readable part is what there is
    for matched in analyser.finish():
        publisher.publish(matched.event, matched.crop_jpeg)
        published += 1
    publisher.flush()
    ledger.save(sid, camera_id, path, offset, completed=True)
    return FileResult(path, resume_s, published, damaged=damaged)


def analysed(analyser: CameraAnalyser, frames: Iterator[Frame]) -> Generator[tuple[Frame, list[MatchedPass]], None, None]:
    """Each frame with the passes it decided or ended: the analysis path reprocessing and archive jobs share."""
    # Three stages on their own threads, in order: decoding, looking (motion, detection), analysing (tracking, embedding).
    for looked in read_ahead(_looked_at(analyser, frames), READ_AHEAD_FRAMES, name=f"look-{analyser.camera_id}"):
        yield looked.frame, analyser.analyse(looked)


def safe_point_s(analyser: CameraAnalyser, start: datetime, offset_s: float) -> float:
    """Where a resumed run must restart to re-create every open pass whole: the oldest open pass's start, or here."""
    open_since = analyser.open_since()
    return offset_s if open_since is None else (open_since - start).total_seconds()


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


def file_sha256(path: Path, chunk_bytes: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class ReprocessRun:
    """What one `facetrail reprocess` did: its audit records (files by SHA-256, never by name) and the camera's health."""

    camera_id: str
    watchlist_version: str
    digests: dict[Path, str]
    files: list[dict] = field(default_factory=list)
    totals: CameraCounters = field(default_factory=CameraCounters)
    footage_until: datetime | None = None
    started: float = field(default_factory=time.monotonic)

    @classmethod
    def of(cls, camera_id: str, watchlist_version: str, videos: tuple[Path, ...]) -> "ReprocessRun":
        """Files that cannot be read have no digest (their failure is recorded by file_failed)."""
        digests = {}
        for video in videos:
            try:
                digests[video] = file_sha256(video)
            except OSError:
                continue
        return cls(camera_id, watchlist_version, digests)

    def start_details(self) -> dict:
        return {"watchlist_version": self.watchlist_version,
                "files": [{"sha256": digest, "bytes": path.stat().st_size} for path, digest in self.digests.items()]}

    def file_done(self, video: Path, result: FileResult, counters: CameraCounters, start: datetime,
                  duration_s: float | None) -> None:
        self.files.append({"sha256": self.digests[video], "skipped": result.skipped, "frames_analysed": counters.frames_analysed,
                           "matched_passes": counters.matched_passes, "unmatched_passes": counters.unmatched_passes,
                           "sightings_published": result.sightings_published,
                           **({"damaged": result.damaged.replace(str(video), "<file>")} if result.damaged else {})})
        for name in ("frames_analysed", "faces_detected", "matched_passes", "unmatched_passes", "detection_s", "embedding_s"):
            setattr(self.totals, name, getattr(self.totals, name) + getattr(counters, name))
        ended = start + timedelta(seconds=duration_s or 0.0)
        self.footage_until = max(ended, self.footage_until or ended)

    def file_failed(self, video: Path, error: str) -> None:
        """A file that could not be reprocessed (not found: no SHA-256 either)."""
        self.files.append({"sha256": self.digests.get(video), "error": error.replace(str(video), "<file>")})

    def stop_details(self, stitched: int | None, failed: str | None = None) -> dict:
        """What the closing audit record holds; ``failed``: why the run stopped before its end, if it did."""
        return {"watchlist_version": self.watchlist_version, "files": self.files, "stitched": stitched,
                "matched_passes": self.totals.matched_passes, "unmatched_passes": self.totals.unmatched_passes,
                **({"failed": failed} if failed else {})}

    def health(self, now: datetime | None = None) -> CameraHealth:
        """The camera as this run saw it: state 'recorded', frames per second of analysis, the footage's last moment."""
        elapsed = max(time.monotonic() - self.started, 1e-6)
        totals = self.totals
        return CameraHealth(
            camera_id=self.camera_id, state="recorded", analysed_fps=totals.frames_analysed / elapsed,
            last_frame_at=self.footage_until, faces_detected=totals.faces_detected, matched_passes=totals.matched_passes,
            unmatched_passes=totals.unmatched_passes, reported_at=now or datetime.now(timezone.utc),
            detection_ms=totals.detection_ms, embedding_ms=totals.embedding_ms, watchlist_version=self.watchlist_version,
        )

    def report_health(self, store: HealthStore) -> None:
        """Record the camera as 'recorded', unless a live worker reported it running within the last minute."""
        report = self.health()
        live = next((h for h in store.all() if h.camera_id == self.camera_id), None)
        if live is None or live.state != "running" or (report.reported_at - live.reported_at).total_seconds() > LIVE_REPORT_WINS_S:
            store.record(report)
