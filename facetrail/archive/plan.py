"""The values of archive jobs, and how a recording is cut into segments (pure: no I/O).

A segment owns the passes that begin in [start_s, end_s) of its recording. It is read from one pass length
(the overlap) before its start, so a pass already open at the start is seen from its true beginning (and left to
the segment before), and until one pass length after its end, so a pass that begins just before the end is
followed to its close. Every pass is therefore published by exactly one segment, with the deterministic event id
a single reprocess of the whole file gives it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

SEGMENT_STATES = ("pending", "leased", "done", "dead", "cancelled")
TIME_GRAIN_S = 1e-3  # container timestamps are rounded to about this


@dataclass(frozen=True)
class Recording:
    """One file of a job: where it is (a local path or s3://bucket/key), its content's SHA-256, when it began."""

    source: str
    sha256: str
    size: int
    start: datetime
    duration_s: float
    keyframes_s: tuple[float, ...] = ()

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.duration_s)


@dataclass(frozen=True)
class SegmentPlan:
    ordinal: int
    recording: Recording
    start_s: float
    end_s: float
    read_from_s: float
    read_until_s: float
    last_of_recording: bool = False

    @property
    def starts_at(self) -> datetime:
        return self.recording.start + timedelta(seconds=self.start_s)

    @property
    def ends_at(self) -> datetime:
        return self.recording.start + timedelta(seconds=self.end_s)


@dataclass(frozen=True)
class JobSpec:
    camera_id: str
    authorisation: str
    requested_by: str
    watchlist_version: str
    recordings: tuple[Recording, ...]
    since: datetime | None = None
    until: datetime | None = None
    priority: int = 0


@dataclass(frozen=True)
class LeasedSegment:
    """What a worker needs to analyse one segment it holds the lease of."""

    segment_id: str
    job_id: str
    camera_id: str
    source: str
    sha256: str
    recording_start: datetime
    start_s: float
    end_s: float
    read_from_s: float
    read_until_s: float
    attempts: int
    checkpoint_s: float | None
    last_of_recording: bool = False  # owns every pass from its start on, and reads the file to its end
    since: datetime | None = None  # the job's authorised time range: no pass outside it is published
    until: datetime | None = None

    def owns(self, first_seen: datetime) -> bool:
        offset = (first_seen - self.recording_start).total_seconds()
        inside = offset >= self.start_s - TIME_GRAIN_S and (offset < self.end_s - TIME_GRAIN_S or self.last_of_recording)
        return inside and (self.since is None or first_seen >= self.since) and (self.until is None or first_seen < self.until)


@dataclass(frozen=True)
class SegmentView:
    segment_id: str
    ordinal: int
    sha256: str
    starts_at: datetime
    ends_at: datetime
    state: str
    attempts: int
    done_s: float
    published: int
    error: str | None
    lease_owner: str | None


@dataclass(frozen=True)
class JobView:
    job_id: str
    camera_id: str
    authorisation: str
    requested_by: str
    watchlist_version: str
    created_at: datetime
    since: datetime | None
    until: datetime | None
    priority: int
    cancelled: bool
    segments: tuple[SegmentView, ...] = field(default=())
    first_leased_at: datetime | None = None
    last_update_at: datetime | None = None

    def count(self, state: str) -> int:
        return sum(1 for s in self.segments if s.state == state)

    @property
    def footage_s(self) -> float:
        return sum((s.ends_at - s.starts_at).total_seconds() for s in self.segments)

    @property
    def done_s(self) -> float:
        return sum(s.done_s for s in self.segments)

    @property
    def progress(self) -> float:
        return 1.0 if not self.footage_s else min(1.0, self.done_s / self.footage_s)

    @property
    def published(self) -> int:
        return sum(s.published for s in self.segments)

    @property
    def state(self) -> str:
        """cancelled, done (every segment done), failed (done but for dead segments), queued or running."""
        if self.cancelled:
            return "cancelled"
        open_ = self.count("pending") + self.count("leased")
        if open_ == 0:
            return "failed" if self.count("dead") else "done"
        return "running" if self.first_leased_at is not None else "queued"

    def eta_s(self, now: datetime) -> float | None:
        """Seconds until done at the rate footage has been searched since the first lease; None before any progress."""
        if self.state != "running" or self.first_leased_at is None or self.done_s <= 0:
            return None
        elapsed = (now - self.first_leased_at).total_seconds()
        remaining = self.footage_s - self.done_s - sum((s.ends_at - s.starts_at).total_seconds()
                                                       for s in self.segments if s.state == "dead")
        return max(0.0, remaining) * elapsed / self.done_s if elapsed > 0 else None


def snap_down(offset_s: float, interval_s: float) -> float:
    """The analysis grid point at or before offset_s: a read started there samples the same frames as a whole-file read."""
    return max(0.0, round(math.floor(offset_s / interval_s + TIME_GRAIN_S) * interval_s, 6))


def plan_segments(recording: Recording, segment_s: float, overlap_s: float, interval_s: float,
                  first_ordinal: int = 0) -> list[SegmentPlan]:
    """Cut a recording at the first key frame at or after each multiple of segment_s (at most one pass per grid step)."""
    cuts = [0.0]
    for keyframe in sorted(recording.keyframes_s):
        if keyframe >= cuts[-1] + segment_s - TIME_GRAIN_S and keyframe < recording.duration_s - TIME_GRAIN_S:
            cuts.append(snap_down(keyframe, interval_s))
    ends = cuts[1:] + [recording.duration_s]
    return [SegmentPlan(first_ordinal + i, recording, start, end, snap_down(start - overlap_s, interval_s),
                        min(recording.duration_s, end + overlap_s), last_of_recording=i == len(cuts) - 1)
            for i, (start, end) in enumerate(zip(cuts, ends))]


def within(plan: SegmentPlan, since: datetime | None, until: datetime | None) -> bool:
    """Whether a segment holds footage of the job's time range."""
    return (since is None or plan.ends_at > since) and (until is None or plan.starts_at < until)
