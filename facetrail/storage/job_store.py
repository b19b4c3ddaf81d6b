"""Archive jobs and the leases of their segments.

A worker takes the most urgent free segment with one statement: on PostgreSQL the candidate is picked with
``FOR UPDATE SKIP LOCKED`` (workers never wait on each other's candidate rows), and on every backend the update
itself is guarded by the state it read (a compare-and-set), so SQLite's embedded database, which serialises its
writers anyway, keeps the same interface with no row locks. A lease is held until ``lease_until``; each
checkpoint renews it. A lease that expires (the worker was killed) is taken over by the next worker asking, from
the segment's checkpoint, until the segment has been tried ``max_attempts`` times: then it goes dead, with its
error.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, func, or_, select, update

from facetrail.archive.plan import JobSpec, JobView, LeasedSegment, SegmentPlan, SegmentView
from facetrail.storage.database import Database
from facetrail.storage.models import ArchiveJobRow, ArchiveSegmentRow

EXPIRED_ERROR = "the worker holding it stopped renewing its lease (killed or cut off) {attempts} time(s)"


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class JobStore:
    db: Database
    round_trips: int = field(default=0)  # statements sent for leases, checkpoints and results (the coordination cost)

    def create(self, spec: JobSpec, plans: list[SegmentPlan]) -> str:
        job_id, now = secrets.token_hex(8), _now()
        with self.db.session() as session, session.begin():
            session.add(ArchiveJobRow(job_id=job_id, camera_id=spec.camera_id, authorisation=spec.authorisation,
                                      requested_by=spec.requested_by, watchlist_version=spec.watchlist_version,
                                      since=spec.since, until=spec.until, priority=spec.priority, cancelled=False,
                                      created_at=now))
            session.flush()
            for plan in plans:
                session.add(ArchiveSegmentRow(
                    segment_id=f"{job_id}-{plan.ordinal:05d}", job_id=job_id, ordinal=plan.ordinal,
                    source=plan.recording.source, sha256=plan.recording.sha256, recording_start=plan.recording.start,
                    start_s=plan.start_s, end_s=plan.end_s, read_from_s=plan.read_from_s, read_until_s=plan.read_until_s,
                    last_of_recording=plan.last_of_recording,
                    priority=spec.priority, state="pending", attempts=0, published=0, updated_at=now))
        return job_id

    # --- the workers' side -------------------------------------------------------------------------------------

    def lease(self, owner: str, lease_s: float, max_attempts: int) -> LeasedSegment | None:
        """The most urgent segment free to work on (pending, or its lease expired), leased to `owner`; None if none."""
        while True:
            now = _now()
            free = or_(ArchiveSegmentRow.state == "pending",
                       and_(ArchiveSegmentRow.state == "leased", ArchiveSegmentRow.lease_until < now))
            with self.db.session() as session, session.begin():
                self.round_trips += 1
                row = session.execute(
                    select(ArchiveSegmentRow).where(free)
                    .order_by(ArchiveSegmentRow.priority.desc(), ArchiveSegmentRow.job_id, ArchiveSegmentRow.ordinal)
                    .limit(1).with_for_update(skip_locked=True)).scalar_one_or_none()
                if row is None:
                    return None
                guard = and_(ArchiveSegmentRow.segment_id == row.segment_id, free)
                if row.state == "leased" and row.attempts >= max_attempts:
                    session.execute(update(ArchiveSegmentRow).where(guard).values(
                        state="dead", lease_owner=None, updated_at=now,
                        error=row.error or EXPIRED_ERROR.format(attempts=row.attempts)))
                    continue
                attempts = row.attempts + 1  # read before the update, which refreshes the row in this session
                taken = session.execute(update(ArchiveSegmentRow).where(guard).values(
                    state="leased", lease_owner=owner, lease_until=now + timedelta(seconds=lease_s),
                    attempts=ArchiveSegmentRow.attempts + 1, updated_at=now,
                    first_leased_at=row.first_leased_at or now)).rowcount
                if not taken:
                    continue  # another worker took it between the read and the update (SQLite has no row locks)
                job = session.get(ArchiveJobRow, row.job_id)
                assert job is not None
                return LeasedSegment(row.segment_id, row.job_id, job.camera_id, row.source, row.sha256,
                                     row.recording_start, row.start_s, row.end_s, row.read_from_s, row.read_until_s,
                                     attempts, row.checkpoint_s, row.last_of_recording, job.since, job.until)

    def open_segments(self) -> int:
        """Segments still to do: pending, or leased (being worked on, or held by a worker that died)."""
        with self.db.session() as session:
            return session.execute(select(func.count()).select_from(ArchiveSegmentRow)
                                   .where(ArchiveSegmentRow.state.in_(("pending", "leased")))).scalar_one()

    def release(self, segment_id: str, owner: str) -> bool:
        """A worker stopping cleanly gives its segment back at once (not counted as an attempt)."""
        with self.db.session() as session, session.begin():
            self.round_trips += 1
            return bool(session.execute(update(ArchiveSegmentRow).where(self._held(segment_id, owner)).values(
                state="pending", lease_owner=None, lease_until=None, attempts=ArchiveSegmentRow.attempts - 1,
                updated_at=_now())).rowcount)

    def _held(self, segment_id: str, owner: str):
        return and_(ArchiveSegmentRow.segment_id == segment_id, ArchiveSegmentRow.lease_owner == owner,
                    ArchiveSegmentRow.state == "leased")

    def checkpoint(self, segment_id: str, owner: str, checkpoint_s: float | None, published: int, lease_s: float) -> bool:
        """Record how far the segment is safely done and renew the lease; False when the lease is lost (expired
        and taken over, or the job cancelled): the worker must stop the segment."""
        now = _now()
        values: dict = {"lease_until": now + timedelta(seconds=lease_s), "published": published, "updated_at": now}
        if checkpoint_s is not None:
            values["checkpoint_s"] = checkpoint_s
        with self.db.session() as session, session.begin():
            self.round_trips += 1
            return bool(session.execute(update(ArchiveSegmentRow).where(self._held(segment_id, owner)).values(**values)).rowcount)

    def complete(self, segment_id: str, owner: str, published: int) -> bool:
        now = _now()
        with self.db.session() as session, session.begin():
            self.round_trips += 1
            return bool(session.execute(update(ArchiveSegmentRow).where(self._held(segment_id, owner)).values(
                state="done", lease_owner=None, lease_until=None, published=published, error=None,
                updated_at=now)).rowcount)

    def fail(self, segment_id: str, owner: str, error: str, max_attempts: int, permanent: bool = False) -> str | None:
        """Give the segment back with its error: pending again, or dead once tried max_attempts times (at once when
        the error is permanent, such as a missing or damaged file). Returns the new state (None: lease lost)."""
        now = _now()
        with self.db.session() as session, session.begin():
            self.round_trips += 1
            row = session.get(ArchiveSegmentRow, segment_id)
            if row is None or row.lease_owner != owner or row.state != "leased":
                return None
            state = "dead" if permanent or row.attempts >= max_attempts else "pending"
            session.execute(update(ArchiveSegmentRow).where(self._held(segment_id, owner)).values(
                state=state, lease_owner=None, lease_until=None, error=error[:2000], updated_at=now))
            return state

    # --- the operators' side -----------------------------------------------------------------------------------

    def cancel(self, job_id: str) -> int:
        """Stop a job: its open segments are cancelled (a worker holding one stops at its next checkpoint)."""
        with self.db.session() as session, session.begin():
            job = session.get(ArchiveJobRow, job_id)
            if job is None:
                raise KeyError(job_id)
            job.cancelled = True
            return session.execute(update(ArchiveSegmentRow).where(
                ArchiveSegmentRow.job_id == job_id, ArchiveSegmentRow.state.in_(("pending", "leased"))).values(
                state="cancelled", lease_owner=None, lease_until=None, updated_at=_now())).rowcount

    def retry(self, job_id: str) -> int:
        """Put a job's dead and cancelled segments back in the queue, with fresh attempts; returns how many."""
        with self.db.session() as session, session.begin():
            job = session.get(ArchiveJobRow, job_id)
            if job is None:
                raise KeyError(job_id)
            job.cancelled = False
            return session.execute(update(ArchiveSegmentRow).where(
                ArchiveSegmentRow.job_id == job_id, ArchiveSegmentRow.state.in_(("dead", "cancelled"))).values(
                state="pending", attempts=0, lease_owner=None, lease_until=None, updated_at=_now())).rowcount

    def get(self, job_id: str) -> JobView | None:
        with self.db.session() as session:
            job = session.get(ArchiveJobRow, job_id)
            if job is None:
                return None
            rows = session.execute(select(ArchiveSegmentRow).where(ArchiveSegmentRow.job_id == job_id)
                                   .order_by(ArchiveSegmentRow.ordinal)).scalars().all()
            return _view(job, list(rows))

    def all(self, limit: int = 100) -> list[JobView]:
        with self.db.session() as session:
            jobs = session.execute(select(ArchiveJobRow).order_by(ArchiveJobRow.created_at.desc()).limit(limit)).scalars().all()
            ids = [j.job_id for j in jobs]
            rows = session.execute(select(ArchiveSegmentRow).where(ArchiveSegmentRow.job_id.in_(ids))
                                   .order_by(ArchiveSegmentRow.ordinal)).scalars().all() if ids else []
        by_job: dict[str, list[ArchiveSegmentRow]] = {}
        for row in rows:
            by_job.setdefault(row.job_id, []).append(row)
        return [_view(job, by_job.get(job.job_id, [])) for job in jobs]


def _done_s(row: ArchiveSegmentRow) -> float:
    length = row.end_s - row.start_s
    if row.state == "done":
        return length
    if row.checkpoint_s is None:
        return 0.0
    return min(length, max(0.0, row.checkpoint_s - row.start_s))


def _view(job: ArchiveJobRow, rows: list[ArchiveSegmentRow]) -> JobView:
    segments = tuple(SegmentView(
        r.segment_id, r.ordinal, r.sha256, r.recording_start + timedelta(seconds=r.start_s),
        r.recording_start + timedelta(seconds=r.end_s), r.state, r.attempts, _done_s(r), r.published, r.error,
        r.lease_owner) for r in rows)
    leased = [r.first_leased_at for r in rows if r.first_leased_at is not None]
    return JobView(job.job_id, job.camera_id, job.authorisation, job.requested_by, job.watchlist_version,
                   job.created_at, job.since, job.until, job.priority, job.cancelled, segments,
                   min(leased) if leased else None, max((r.updated_at for r in rows), default=None))
