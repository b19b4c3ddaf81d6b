"""Leases of archive segments on both backends: one holder at a time, expiry, dead-letter, cancel and retry."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from facetrail.archive.plan import JobSpec, Recording, plan_segments
from facetrail.storage.database import Database
from facetrail.storage.job_store import JobStore

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
CLIP = Recording("/footage/x.mp4", "a" * 64, 1, T0, 20.0, tuple(float(k) for k in range(0, 20, 2)))


@pytest.fixture(params=["sqlite", "postgresql"])
def jobs(request, tmp_path):
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
        yield JobStore(db)
        db.dispose()
        return
    env = request.getfixturevalue("postgres_service")
    from tests.backbone.stores import private_database

    with private_database(env) as url:
        db = Database(url)
        yield JobStore(db)
        db.dispose()


def _job(jobs: JobStore, segment_s: float = 10.0, priority: int = 0) -> str:
    spec = JobSpec("cam-b", "warrant 7", "tester", "v1", (CLIP,), priority=priority)
    return jobs.create(spec, plan_segments(CLIP, segment_s, 2.0, 0.2))


def test_each_segment_is_leased_to_one_worker_at_a_time(jobs):
    _job(jobs)
    first, second = jobs.lease("w1", 60, 3), jobs.lease("w2", 60, 3)
    assert first is not None and second is not None and first.segment_id != second.segment_id
    assert jobs.lease("w3", 60, 3) is None


def test_a_higher_priority_job_is_leased_first(jobs):
    _job(jobs, priority=0)
    urgent = _job(jobs, priority=5)
    leased = jobs.lease("w1", 60, 3)
    assert leased is not None and leased.job_id == urgent


def test_an_expired_lease_is_taken_over_from_its_checkpoint(jobs):
    _job(jobs, segment_s=30.0)
    held = jobs.lease("w1", 0.5, 3)
    assert held is not None and jobs.checkpoint(held.segment_id, "w1", 7.4, 1, 0.5)
    time.sleep(0.7)
    taken = jobs.lease("w2", 60, 3)
    assert taken is not None and taken.segment_id == held.segment_id
    assert (taken.checkpoint_s, taken.attempts) == (7.4, 2)
    assert not jobs.checkpoint(held.segment_id, "w1", 9.0, 1, 60), "the first worker lost its lease"
    assert jobs.complete(taken.segment_id, "w2", 1)


def test_a_segment_whose_worker_dies_every_time_goes_dead_with_the_reason(jobs):
    job_id = _job(jobs, segment_s=30.0)
    for attempt in range(3):
        assert jobs.lease(f"w{attempt}", 0.2, 3) is not None
        time.sleep(0.3)
    assert jobs.lease("w9", 60, 3) is None
    view = jobs.get(job_id)
    assert view is not None and view.state == "failed" and view.count("dead") == 1
    assert "stopped renewing its lease" in (view.segments[0].error or "")


def test_a_failing_segment_is_retried_then_dead_lettered_and_a_permanent_failure_at_once(jobs):
    job_id = _job(jobs)
    first = jobs.lease("w1", 60, 2)
    assert first is not None and jobs.fail(first.segment_id, "w1", "store away", 2) == "pending"
    again = jobs.lease("w1", 60, 2)
    assert again is not None and again.segment_id == first.segment_id
    assert jobs.fail(again.segment_id, "w1", "store away", 2) == "dead"
    other = jobs.lease("w1", 60, 2)
    assert other is not None and jobs.fail(other.segment_id, "w1", "video file not found", 2, permanent=True) == "dead"
    view = jobs.get(job_id)
    assert view is not None and [s.error for s in view.segments if s.state == "dead"] == ["store away", "video file not found"]


def test_cancelling_a_job_stops_its_worker_and_retry_queues_it_again(jobs):
    job_id = _job(jobs)
    held = jobs.lease("w1", 60, 3)
    assert held is not None and jobs.cancel(job_id) == 2
    assert not jobs.checkpoint(held.segment_id, "w1", 1.0, 0, 60)
    assert jobs.lease("w2", 60, 3) is None
    assert jobs.retry(job_id) == 2
    view = jobs.get(job_id)
    assert view is not None and view.state == "running" and view.count("pending") == 2
