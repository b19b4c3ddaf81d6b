"""The operators' archive-jobs routes: progress per camera, ETA, failed segments; cancel and retry audited."""

from __future__ import annotations

from datetime import datetime, timezone

from facetrail.archive.plan import JobSpec, Recording, plan_segments
from facetrail.audit.log import AuditLog
from facetrail.storage.job_store import JobStore

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
CLIP = Recording("/footage/gate.mp4", "b" * 64, 10, T0, 60.0, tuple(float(k) for k in range(0, 60, 2)))


def running_job(db) -> tuple[JobStore, str]:
    """A job of three 20 s segments: one done, one half done, one dead-lettered."""
    jobs = JobStore(db)
    job_id = jobs.create(JobSpec("gate", "warrant 2026/114", "alice", "v1", (CLIP,)), plan_segments(CLIP, 20, 5, 0.2))
    done, half, dead = (jobs.lease("w1", 60, 1) for _ in range(3))
    assert done and half and dead
    jobs.complete(done.segment_id, "w1", 2)
    jobs.checkpoint(half.segment_id, "w1", 30.0, 1, 60)
    jobs.fail(dead.segment_id, "w1", "video file is damaged or truncated: <file>", 1, permanent=True)
    return jobs, job_id


def test_operators_see_progress_per_camera_and_each_failed_segment_with_its_error(world, client, as_role):
    _, job_id = running_job(world.db)
    response = client.get("/api/v1/archive/jobs", headers=as_role["operator"])
    assert response.status_code == 200, response.text
    body = response.json()
    [camera] = body["cameras"]
    assert camera["camera_id"] == "gate" and camera["footage_s"] == 60 and camera["done_s"] == 30
    assert camera["segments_dead"] == 1 and camera["eta_s"] is not None
    [job] = body["items"]
    assert (job["job_id"], job["state"], job["segments_done"], job["segments_running"]) == (job_id, "running", 1, 1)
    assert job["authorisation"] == "warrant 2026/114" and job["requested_by"] == "alice"
    assert [s["error"] for s in job["failed_segments"]] == ["video file is damaged or truncated: <file>"]


def test_a_job_shows_each_segment(world, client, as_role):
    _, job_id = running_job(world.db)
    job = client.get(f"/api/v1/archive/jobs/{job_id}", headers=as_role["operator"]).json()
    assert [s["state"] for s in job["segments"]] == ["done", "leased", "dead"]
    assert [s["progress"] for s in job["segments"]] == [1.0, 0.5, 0.0]


def test_cancelling_and_retrying_from_the_console_are_audited_under_the_operator(world, client, as_role):
    _, job_id = running_job(world.db)
    cancelled = client.post(f"/api/v1/archive/jobs/{job_id}/cancel", headers=as_role["operator"])
    assert cancelled.status_code == 200 and cancelled.json()["segments"] == 1
    retried = client.post(f"/api/v1/archive/jobs/{job_id}/retry", headers=as_role["operator"])
    assert retried.status_code == 200 and retried.json()["segments"] == 2
    actions = [(r.actor, r.action, r.subject) for r in AuditLog(world.db).records() if r.action.startswith("archive.")]
    assert actions == [("operator1", "archive.cancel", job_id), ("operator1", "archive.retry", job_id)]


def test_an_unknown_job_is_a_404(client, as_role):
    assert client.get("/api/v1/archive/jobs/" + "0" * 16, headers=as_role["operator"]).status_code == 404
    assert client.post("/api/v1/archive/jobs/" + "0" * 16 + "/cancel", headers=as_role["operator"]).status_code == 404
