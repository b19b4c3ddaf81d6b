"""How a job is shown to operators (the CLI's JSON and the API's responses): typed, with progress and ETA."""

from __future__ import annotations

from datetime import datetime, timezone

from pydantic import BaseModel

from facetrail.archive.plan import JobView


class SegmentReport(BaseModel):
    segment_id: str
    ordinal: int
    sha256: str
    starts_at: datetime
    ends_at: datetime
    state: str
    attempts: int
    progress: float
    sightings_published: int
    error: str | None
    worker: str | None


class JobReport(BaseModel):
    job_id: str
    camera_id: str
    state: str
    authorisation: str
    requested_by: str
    watchlist_version: str
    created_at: datetime
    since: datetime | None
    until: datetime | None
    priority: int
    footage_s: float
    done_s: float
    progress: float
    eta_s: float | None
    segments_total: int
    segments_done: int
    segments_running: int
    segments_dead: int
    sightings_published: int
    failed_segments: list[SegmentReport]
    segments: list[SegmentReport] | None = None

    @classmethod
    def of(cls, job: JobView, with_segments: bool = False, now: datetime | None = None) -> "JobReport":
        segments = [SegmentReport(
            segment_id=s.segment_id, ordinal=s.ordinal, sha256=s.sha256, starts_at=s.starts_at, ends_at=s.ends_at,
            state=s.state, attempts=s.attempts, error=s.error, worker=s.lease_owner, sightings_published=s.published,
            progress=1.0 if s.ends_at <= s.starts_at else min(1.0, s.done_s / (s.ends_at - s.starts_at).total_seconds()))
            for s in job.segments]
        return cls(job_id=job.job_id, camera_id=job.camera_id, state=job.state, authorisation=job.authorisation,
                   requested_by=job.requested_by, watchlist_version=job.watchlist_version, created_at=job.created_at,
                   since=job.since, until=job.until, priority=job.priority, footage_s=job.footage_s, done_s=job.done_s,
                   progress=job.progress, eta_s=job.eta_s(now or datetime.now(timezone.utc)),
                   segments_total=len(job.segments), segments_done=job.count("done"),
                   segments_running=job.count("leased"), segments_dead=job.count("dead"),
                   sightings_published=job.published, failed_segments=[s for s in segments if s.state == "dead"],
                   segments=segments if with_segments else None)
