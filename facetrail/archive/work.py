"""An archive worker: lease a segment, analyse it through reprocessing's analysis path, checkpoint, complete.

The worker publishes only the passes its segment owns (those that begin inside it), on the same sightings channel
live cameras use, so archive matches are stored, stitched and reviewed exactly like live ones, with the same
deterministic event ids a single `facetrail reprocess` of the file gives. A worker resumed on a segment (after a
crash of the one before) re-reads from one pass length before the checkpoint; passes published before the crash
are published again with the same ids and merged, never duplicated.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from facetrail.analytics.face_models import FaceModels
from facetrail.analytics.pipeline import CameraAnalyser, MatchedPass
from facetrail.archive.plan import TIME_GRAIN_S, LeasedSegment, snap_down
from facetrail.archive.recordings import local_copy
from facetrail.audit.log import AuditLog, os_user
from facetrail.config import Config
from facetrail.ingest.camera import SourceError, read_file
from facetrail.matching import LoadedMatcher
from facetrail.publisher import SightingPublisher
from facetrail.reprocess import analysed, file_sha256, safe_point_s
from facetrail.storage.job_store import JobStore

log = logging.getLogger(__name__)
IDLE_POLL_S = 1.0
# Checkpoints are handed to the lease's heartbeat twice as often as it renews, so each renewal carries a fresh one.
CHECKPOINTS_PER_RENEWAL = 2


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class LeaseLost(Exception):
    """The segment's lease expired and another worker took it, or the job was cancelled."""


class Stopped(Exception):
    """This worker was asked to stop (SIGTERM, Ctrl-C) mid-segment."""


class Heartbeat:
    """Renews a segment's lease every lease_s / 3 on its own thread, with the latest checkpoint the analysis has
    made safe: fetching, hashing and loading models count as holding the segment too. Killing the process
    stops it, and the lease expires."""

    def __init__(self, jobs: JobStore, segment: LeasedSegment, owner: str, lease_s: float):
        self._jobs, self._segment, self._owner, self._lease_s = jobs, segment, owner, lease_s
        self.checkpoint_s: float | None = segment.checkpoint_s
        self.published = 0
        self.lost = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{segment.segment_id}", daemon=True)

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._done.wait(self._lease_s / 3):
            try:
                held = self._jobs.checkpoint(self._segment.segment_id, self._owner, self.checkpoint_s, self.published,
                                             self._lease_s)
            except Exception:  # a database outage: the lease may run out; the next renewal tries again
                log.warning("could not renew the lease of segment %s", self._segment.segment_id, exc_info=True)
                continue
            if not held:
                self.lost.set()
                return


@dataclass(frozen=True)
class SegmentOutcome:
    segment_id: str
    state: str  # done, pending (given back or to retry), dead, lost
    published: int  # matched passes this worker published (a resumed segment counts those after its checkpoint)
    footage_s: float
    error: str | None = None
    resumed_from_s: float | None = None  # the checkpoint a worker before this one left


@dataclass
class ArchiveWorker:
    config: Config
    jobs: JobStore
    models: Callable[[], FaceModels]
    matcher: Callable[[FaceModels], LoadedMatcher]
    publisher: SightingPublisher
    audit: AuditLog
    owner: str = field(default_factory=worker_name)
    stop: threading.Event = field(default_factory=threading.Event)
    _checked: dict[tuple[str, int, int], str] = field(default_factory=dict)
    _version: str = field(default="", init=False)

    def serve(self, until_idle: bool = False, on_outcome: Callable[[SegmentOutcome], None] | None = None) -> int:
        """Work segments until stopped (or, with until_idle, until no segment is pending or leased); returns how
        many were worked on."""
        worked = 0
        while not self.stop.is_set():
            archive = self.config.archive
            segment = self.jobs.lease(self.owner, archive.lease_s, archive.max_attempts)
            if segment is None:
                if until_idle and not self.jobs.open_segments():
                    break
                self.stop.wait(IDLE_POLL_S)
                continue
            outcome = self.work(segment)
            worked += 1
            if on_outcome is not None:
                on_outcome(outcome)
        return worked

    def work(self, segment: LeasedSegment) -> SegmentOutcome:
        published = 0
        try:
            with Heartbeat(self.jobs, segment, self.owner, self.config.archive.lease_s) as heartbeat:
                path = self._checked_copy(segment)
                published = self._analyse(segment, path, heartbeat)
        except LeaseLost:
            return SegmentOutcome(segment.segment_id, "lost", published, 0.0)
        except Stopped:
            self.jobs.release(segment.segment_id, self.owner)
            return SegmentOutcome(segment.segment_id, "pending", published, 0.0)
        except SourceError as exc:  # missing, damaged or changed file: trying again cannot help
            return self._failed(segment, str(exc), permanent=True)
        except Exception as exc:  # anything else may pass (a database or store outage): tried again, up to N times
            log.exception("archive segment %s failed", segment.segment_id)
            return self._failed(segment, f"{type(exc).__name__}: {exc}", permanent=False)
        if not self.jobs.complete(segment.segment_id, self.owner, published):
            return SegmentOutcome(segment.segment_id, "lost", published, 0.0)
        footage = segment.end_s - segment.start_s
        self.audit.record(os_user(), "archive.segment", segment.job_id, {
            "segment": segment.segment_id, "state": "done", "sha256": segment.sha256, "sightings_published": published,
            "watchlist_version": self._version, "worker": self.owner, "attempt": segment.attempts,
            "resumed_from_s": segment.checkpoint_s})
        return SegmentOutcome(segment.segment_id, "done", published, footage, resumed_from_s=segment.checkpoint_s)

    def _failed(self, segment: LeasedSegment, error: str, permanent: bool) -> SegmentOutcome:
        state = self.jobs.fail(segment.segment_id, self.owner, error, self.config.archive.max_attempts, permanent)
        if state == "dead":
            self.audit.record(os_user(), "archive.segment", segment.job_id, {
                "segment": segment.segment_id, "state": "dead", "sha256": segment.sha256, "error": error,
                "worker": self.owner, "attempt": segment.attempts})
        return SegmentOutcome(segment.segment_id, state or "lost", 0, 0.0, error)

    def _checked_copy(self, segment: LeasedSegment) -> Path:
        """The recording on this machine, checked once per worker against the SHA-256 the job recorded."""
        path = local_copy(segment.source, segment.sha256, self.config)
        try:
            stat = path.stat()
        except OSError:
            raise SourceError(f"video file not found: {segment.source}") from None
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        if key not in self._checked:
            self._checked[key] = file_sha256(path)
        if self._checked[key] != segment.sha256:
            raise SourceError(f"recording changed since the job was made (SHA-256 differs): {segment.source}")
        return path

    def _analyse(self, segment: LeasedSegment, path: Path, heartbeat: Heartbeat) -> int:
        config, archive = self.config, self.config.archive
        models = self.models()
        loaded = self.matcher(models)
        self._version = loaded.version
        analyser = CameraAnalyser(segment.camera_id, config.analysis, models.detector, models.embedder, loaded.matcher,
                                  loaded.version)
        interval = 1.0 / config.analysis.fps
        read_from = segment.read_from_s
        if segment.checkpoint_s is not None:  # resumed: one pass length before the checkpoint re-creates its passes
            read_from = max(read_from, snap_down(segment.checkpoint_s - archive.overlap_s, interval))
        start = segment.recording_start
        passes_seen: set[str] = set()  # a pass is published as it is decided and again when it ends: counted once
        checkpointed, checkpoint_every = time.monotonic(), archive.lease_s / 3 / CHECKPOINTS_PER_RENEWAL
        frames = read_file(segment.camera_id, str(path), config.analysis.fps, start, read_from)
        with closing(analysed(analyser, frames)) as stream:
            for frame, passes in stream:
                offset = (frame.captured_at - start).total_seconds()
                if offset >= segment.read_until_s - TIME_GRAIN_S and not segment.last_of_recording:
                    break
                self._publish(segment, passes, passes_seen)
                if self.stop.is_set():
                    raise Stopped
                if heartbeat.lost.is_set():
                    raise LeaseLost
                if offset >= segment.start_s and time.monotonic() - checkpointed >= checkpoint_every:
                    self.publisher.flush()  # what the checkpoint vouches for is on the bus before it is recorded
                    heartbeat.checkpoint_s = max(heartbeat.checkpoint_s or 0.0, safe_point_s(analyser, start, offset))
                    heartbeat.published = len(passes_seen)
                    checkpointed = time.monotonic()
        self._publish(segment, analyser.finish(), passes_seen)
        self.publisher.flush()
        return len(passes_seen)

    def _publish(self, segment: LeasedSegment, passes: list[MatchedPass], seen: set[str]) -> None:
        for matched in passes:
            if segment.owns(matched.event.first_seen):
                self.publisher.publish(matched.event, matched.crop_jpeg)
                seen.add(matched.event.event_id)
