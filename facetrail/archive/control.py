"""An operator's change to a running job (cancel, retry), audited the same way from the CLI and the API."""

from __future__ import annotations

from typing import Any, Literal

from facetrail.audit.log import AuditLog
from facetrail.storage.job_store import JobStore

JobChange = Literal["cancel", "retry"]

_COUNTED_AS: dict[JobChange, str] = {"cancel": "segments_cancelled", "retry": "segments_queued"}


def change_job(jobs: JobStore, audit: AuditLog, actor: str, job_id: str, change: JobChange,
               **context: Any) -> int:
    """How many segments the change touched, audited as archive.<change> with `context`; KeyError for no such job."""
    changed = jobs.cancel(job_id) if change == "cancel" else jobs.retry(job_id)
    audit.record(actor, f"archive.{change}", job_id, {_COUNTED_AS[change]: changed, **context})
    return changed
