"""Archive search jobs for operators: progress per camera, ETA, failed segments; cancel and retry (audited).

Jobs are started from the command line (`facetrail search-archive`), where the recordings are; their matches
arrive on the sightings channel and go through the same review as live ones."""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi import APIRouter, Depends, HTTPException, Path
from pydantic import BaseModel

from facetrail.api import views
from facetrail.api.context import ApiContext, api_context
from facetrail.api.schemas import Problem
from facetrail.archive.control import JobChange, change_job
from facetrail.archive.report import JobReport
from facetrail.auth.dependencies import Principal, require_roles
from facetrail.auth.roles import OPERATOR

router = APIRouter(prefix=views.API, tags=["archive"], responses={401: {"model": Problem}, 403: {"model": Problem}})
JOB_ID = Path(pattern=r"^[0-9a-f]{16}$")


class CameraProgress(BaseModel):
    """Every open (queued or running) job of one camera, together."""

    camera_id: str
    jobs: int
    footage_s: float
    done_s: float
    progress: float
    eta_s: float | None
    segments_dead: int


class ArchiveJobList(BaseModel):
    cameras: list[CameraProgress]
    items: list[JobReport]


class JobAction(BaseModel):
    job_id: str
    segments: int


def _per_camera(reports: list[JobReport]) -> list[CameraProgress]:
    cameras: dict[str, list[JobReport]] = {}
    for report in reports:
        if report.state in ("queued", "running"):
            cameras.setdefault(report.camera_id, []).append(report)
    out = []
    for camera_id, jobs in sorted(cameras.items()):
        footage, done = sum(j.footage_s for j in jobs), sum(j.done_s for j in jobs)
        etas = [j.eta_s for j in jobs if j.eta_s is not None]
        out.append(CameraProgress(camera_id=camera_id, jobs=len(jobs), footage_s=footage, done_s=done,
                                  progress=done / footage if footage else 1.0, eta_s=max(etas) if etas else None,
                                  segments_dead=sum(j.segments_dead for j in jobs)))
    return out


@router.get("/archive/jobs", response_model=ArchiveJobList)
def list_jobs(principal: Principal = Depends(require_roles(OPERATOR)),
              ctx: ApiContext = Depends(api_context)) -> ArchiveJobList:
    now = datetime.now(timezone.utc)
    reports = [JobReport.of(job, now=now) for job in ctx.jobs.all()]
    return ArchiveJobList(cameras=_per_camera(reports), items=reports)


@router.get("/archive/jobs/{job_id}", response_model=JobReport, responses={404: {"model": Problem}})
def show_job(job_id: str = JOB_ID, principal: Principal = Depends(require_roles(OPERATOR)),
             ctx: ApiContext = Depends(api_context)) -> JobReport:
    job = ctx.jobs.get(job_id)
    if job is None:
        raise HTTPException(status_code=404, detail=f"no archive job {job_id}")
    return JobReport.of(job, with_segments=True)


@router.post("/archive/jobs/{job_id}/cancel", response_model=JobAction, responses={404: {"model": Problem}})
def cancel_job(job_id: str = JOB_ID, principal: Principal = Depends(require_roles(OPERATOR)),
               ctx: ApiContext = Depends(api_context)) -> JobAction:
    return _change_job(ctx, principal, job_id, "cancel")


@router.post("/archive/jobs/{job_id}/retry", response_model=JobAction, responses={404: {"model": Problem}})
def retry_job(job_id: str = JOB_ID, principal: Principal = Depends(require_roles(OPERATOR)),
              ctx: ApiContext = Depends(api_context)) -> JobAction:
    return _change_job(ctx, principal, job_id, "retry")


def _change_job(ctx: ApiContext, principal: Principal, job_id: str, change: JobChange) -> JobAction:
    try:
        segments = change_job(ctx.jobs, ctx.audit, principal.username, job_id, change, via="api")
    except KeyError:
        raise HTTPException(status_code=404, detail=f"no archive job {job_id}") from None
    return JobAction(job_id=job_id, segments=segments)
