"""`facetrail search-archive` (an authorised archive search, as a job the worker group shares) and
`facetrail jobs list|show|cancel|retry|work`."""

from __future__ import annotations

import json
import os
import signal
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import click

from facetrail.archive.control import JobChange, change_job
from facetrail.archive.plan import JobSpec, Recording, SegmentPlan, plan_segments, within
from facetrail.archive.recordings import RecordingProblem, describe, find
from facetrail.archive.report import JobReport
from facetrail.archive.work import SegmentOutcome
from facetrail.audit.log import os_user
from facetrail.bus.select import ensure_topics_of
from facetrail.cli.context import CONFIG_OPTION, Stores
from facetrail.cli.errors import UsageProblem
from facetrail.cli.pipeline import parse_time
from facetrail.names import UnsafeText, checked_text

FORMAT_OPTION = click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)


def checked_authorisation(value: str | None) -> str:
    text = (value or "").strip()
    if not text:
        raise UsageProblem("refused: an archive search needs --authorisation, the reference of the warrant or "
                           "authorisation that allows it (recorded on the job and in the audit log)")
    try:
        return checked_text(text, "--authorisation")
    except UnsafeText as exc:
        raise UsageProblem(str(exc)) from None


def _recordings(stores: Stores, sources: tuple[str, ...], start: datetime | None) -> list[Recording]:
    try:
        found = find(sources, stores.config)
    except RecordingProblem as exc:
        raise UsageProblem(str(exc)) from None
    recordings = [describe(f, None) for f in found]
    if start is not None:  # the files follow each other without a gap from --start
        at, stamped = start, []
        for recording in recordings:
            stamped.append(replace(recording, start=at))
            at += timedelta(seconds=recording.duration_s)
        recordings = stamped
    return recordings


def _plans(stores: Stores, recordings: list[Recording], since: datetime | None, until: datetime | None) -> list[SegmentPlan]:
    archive, interval = stores.config.archive, 1.0 / stores.config.analysis.fps
    plans: list[SegmentPlan] = []
    for recording in recordings:
        cut = plan_segments(recording, archive.segment_s, archive.overlap_s, interval, first_ordinal=len(plans))
        plans.extend(p for p in cut if within(p, since, until) or recording.duration_s == 0)
    return [replace(p, ordinal=i) for i, p in enumerate(plans)]


@click.command("search-archive")
@click.argument("recordings", nargs=-1, required=True)
@CONFIG_OPTION
@click.option("--camera", "camera_id", required=True, help="id of the configured camera that recorded the files")
@click.option("--authorisation", default=None, help="reference of the warrant or authorisation for this search (required)")
@click.option("--since", default=None, help="search footage from this time (ISO 8601 with timezone)")
@click.option("--until", default=None, help="search footage until this time (ISO 8601 with timezone)")
@click.option("--start", "start_text", default=None, help="wall-clock start of the first recording (later ones follow "
                                                          "it); default: each file's modification time minus its length")
@click.option("--priority", type=click.IntRange(-100, 100), default=0, show_default=True, help="higher runs first")
@click.option("--work", is_flag=True, help="also work on the job in this process until it is done")
def search_archive(recordings: tuple[str, ...], config_path: str, camera_id: str, authorisation: str | None,
                   since: str | None, until: str | None, start_text: str | None, priority: int, work: bool) -> None:
    """Search recordings (paths, or s3://bucket/prefix on the configured object store) of camera --camera for the
    watch-list, as a job that `facetrail jobs work` processes share."""
    reference = checked_authorisation(authorisation)
    stores = Stores.load(config_path)
    stores.config.camera(camera_id)
    start, window = parse_time(start_text, "--start"), (parse_time(since, "--since"), parse_time(until, "--until"))
    if window[0] and window[1] and window[1] <= window[0]:
        raise UsageProblem("--until is not after --since")
    found = _recordings(stores, recordings, start)
    plans = _plans(stores, found, *window)
    if not plans:
        raise UsageProblem("no recording holds footage between --since and --until")
    spec = JobSpec(camera_id, reference, os_user(), stores.watchlist.version(), tuple(found), window[0], window[1], priority)
    job_id = stores.jobs.create(spec, plans)
    unreadable = [r for r in found if r.duration_s == 0]
    stores.audit.record(os_user(), "archive.start", job_id, {
        "camera": camera_id, "authorisation": reference, "watchlist_version": spec.watchlist_version,
        "since": window[0], "until": window[1], "priority": priority, "segments": len(plans),
        "files": [{"sha256": r.sha256, "bytes": r.size, "duration_s": round(r.duration_s, 3),
                   "stored": "s3" if r.source.startswith("s3://") else "local"} for r in found]})
    footage_h = sum(r.duration_s for r in found) / 3600
    click.echo(f"job {job_id}: {len(found)} recording(s), {footage_h:.2f} camera-hour(s) in {len(plans)} segment(s)")
    for recording in unreadable:
        click.echo(f"warning: {recording.source} could not be read; its segment will fail with the reason", err=True)
    if work:
        _work(stores, until_idle=True)
        click.echo(_line(JobReport.of(stores.jobs.get(job_id))))  # type: ignore[arg-type]
    else:
        click.echo("start workers with `facetrail jobs work` (any number, on any machine sharing the database)")


@click.group("jobs")
def jobs_group() -> None:
    """Archive search jobs: list, show, cancel, retry, and work on them."""


def _hms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _line(report: JobReport) -> str:
    return (f"{report.job_id}  {report.camera_id:<12} {report.state:<9} {report.progress:6.1%}  "
            f"{report.segments_done}/{report.segments_total} done, {report.segments_running} running, "
            f"{report.segments_dead} failed  eta {_hms(report.eta_s)}  {report.sightings_published} sighting(s)")


def _report(stores: Stores, job_id: str, with_segments: bool = False) -> JobReport:
    job = stores.jobs.get(job_id)
    if job is None:
        raise UsageProblem(f"no archive job {job_id!r} (see `facetrail jobs list`)")
    return JobReport.of(job, with_segments)


@jobs_group.command("list")
@CONFIG_OPTION
@FORMAT_OPTION
def list_jobs(config_path: str, fmt: str) -> None:
    """Archive jobs, newest first, with progress and ETA."""
    reports = [JobReport.of(job) for job in Stores.load(config_path).jobs.all()]
    if fmt == "json":
        click.echo(json.dumps([r.model_dump(mode="json") for r in reports], indent=2))
        return
    for report in reports:
        click.echo(_line(report))
    if not reports:
        click.echo("no archive jobs")


@jobs_group.command("show")
@click.argument("job_id")
@CONFIG_OPTION
@FORMAT_OPTION
def show_job(job_id: str, config_path: str, fmt: str) -> None:
    """One job: who asked, under which authorisation, and each segment's state and error."""
    report = _report(Stores.load(config_path), job_id, with_segments=True)
    if fmt == "json":
        click.echo(report.model_dump_json(indent=2))
        return
    click.echo(_line(report))
    click.echo(f"authorisation: {report.authorisation}; requested by {report.requested_by} at "
               f"{report.created_at:%Y-%m-%d %H:%M:%S}Z; watch-list version {report.watchlist_version}")
    for s in report.segments or []:
        error = f"  {s.error}" if s.error else ""
        click.echo(f"  #{s.ordinal:<4} {s.starts_at:%Y-%m-%d %H:%M:%S} - {s.ends_at:%H:%M:%S}  {s.state:<9} "
                   f"{s.progress:6.1%}  attempts {s.attempts}  {s.sightings_published} sighting(s){error}")


@jobs_group.command("cancel")
@click.argument("job_id")
@CONFIG_OPTION
def cancel_job(job_id: str, config_path: str) -> None:
    """Stop a job: its open segments are cancelled; workers on them stop at their next checkpoint."""
    cancelled = _change_job(config_path, job_id, "cancel")
    click.echo(f"job {job_id}: cancelled ({cancelled} open segment(s))")


@jobs_group.command("retry")
@click.argument("job_id")
@CONFIG_OPTION
def retry_job(job_id: str, config_path: str) -> None:
    """Queue a job's failed (dead-letter) and cancelled segments again."""
    queued = _change_job(config_path, job_id, "retry")
    click.echo(f"job {job_id}: {queued} segment(s) queued again")


def _change_job(config_path: str, job_id: str, change: JobChange) -> int:
    stores = Stores.load(config_path)
    try:
        return change_job(stores.jobs, stores.audit, os_user(), job_id, change)
    except KeyError:
        raise UsageProblem(f"no archive job {job_id!r} (see `facetrail jobs list`)") from None


@jobs_group.command("work")
@CONFIG_OPTION
@click.option("--until-idle", is_flag=True, help="exit once no segment is left to do (default: wait for more)")
def work(config_path: str, until_idle: bool) -> None:
    """Work on archive jobs' segments: start one per core, on any machine sharing the database."""
    stores = Stores.load(config_path)
    _work(stores, until_idle)


def _work(stores: Stores, until_idle: bool) -> None:
    ensure_topics_of(stores.config)  # a fresh broker has none yet: every sighting would be refused
    os.nice(stores.config.archive.nice)  # a shared machine analyses its live cameras first
    worker = stores.archive_worker()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: worker.stop.set())
    started = datetime.now(timezone.utc)
    click.echo(f"archive worker {worker.owner}: leasing segments; Ctrl-C stops", err=True)

    def said(outcome: SegmentOutcome) -> None:
        error = f": {outcome.error}" if outcome.error else ""
        resumed = f", resumed from the checkpoint at {outcome.resumed_from_s:.1f}s" if outcome.resumed_from_s else ""
        click.echo(f"segment {outcome.segment_id}: {outcome.state}, {outcome.published} sighting(s){resumed}{error}",
                   err=True)

    worked = worker.serve(until_idle, said)
    elapsed = (datetime.now(timezone.utc) - started).total_seconds()
    click.echo(f"archive worker {worker.owner}: {worked} segment(s) in {elapsed:.1f}s, "
               f"{stores.jobs.round_trips} lease round trip(s)", err=True)
