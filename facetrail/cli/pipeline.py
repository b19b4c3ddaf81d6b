"""`facetrail run`, `facetrail reprocess` and `facetrail trajectory`."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from pathlib import Path

import click
from tqdm import tqdm

from facetrail.analytics.face_models import choose
from facetrail.analytics.pipeline import CameraAnalyser
from facetrail.audit.log import os_user
from facetrail.bus.select import ensure_topics_of
from facetrail.cli.context import CONFIG_OPTION, Stores
from facetrail.cli.errors import UsageProblem
from facetrail.ingest.camera import SourceError, file_duration_s
from facetrail.matching import load_matcher
from facetrail.reprocess import ReprocessRun, consecutive_starts, recording_start, reprocess_file
from facetrail.runtime import LiveRun, serve_trajectory, trajectory_service
from facetrail.trajectory.service import settled_heap


def parse_time(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageProblem(f"{option}: not an ISO 8601 time: {value!r} (e.g. 2026-01-01T09:00:00Z)") from None
    if parsed.tzinfo is None:
        raise UsageProblem(f"{option}: give a timezone, e.g. {value}Z or {value}+01:00")
    return parsed


@click.command("reprocess")
@click.argument("videos", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@CONFIG_OPTION
@click.option("--camera", "camera_id", required=True, help="id of the configured camera that recorded the files")
@click.option("--start", "start_text", default=None, help="wall-clock start of the first file, ISO 8601 with timezone; later files follow it")
@click.option("--again", is_flag=True, help="process files again even if an earlier run completed them")
@click.option("--stitch/--no-stitch", default=True, show_default=True, help="stitch tracks once the files are done")
def reprocess(videos: tuple[Path, ...], config_path: str, camera_id: str, start_text: str | None, again: bool, stitch: bool) -> None:
    """Run recorded VIDEO files through the pipeline as camera --camera (resumable)."""
    stores = Stores.load(config_path)
    stores.config.camera(camera_id)
    start = parse_time(start_text, "--start")
    ensure_topics_of(stores.config)  # a fresh broker has none yet: publishing would wait on missing topics
    durations, unreadable = _durations(videos)
    start_of_unreadable = datetime.now(timezone.utc)  # never used: an unreadable file is skipped
    starts = consecutive_starts(durations, start) if start else [
        start_of_unreadable if v in unreadable else recording_start(v, d) for v, d in zip(videos, durations)]
    models = stores.face_models
    loaded = load_matcher(stores.watchlist, models.embedder.space, stores.config.analysis.matching)
    for note in models.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(f"detector: {models.detector.name}; embedder: {models.embedder.space.model}; "
               f"{loaded.summary(models.embedder.space)}", err=True)
    if not stores.watchlist.records():
        click.echo("warning: the watch-list is empty, so no sighting can result", err=True)
    elif not len(loaded.matcher):
        click.echo(f"warning: no watch-list entry has {models.embedder.space.model} templates, so no sighting can "
                   "result (run `facetrail watchlist reembed`)", err=True)
    analyser_args = (stores.config.analysis, models.detector, models.embedder, loaded.matcher, loaded.version)
    run = ReprocessRun.of(camera_id, stores.watchlist.version(), videos)
    stores.audit.record(os_user(), "reprocess.start", camera_id, run.start_details())
    try:
        failures = _reprocess_files(stores, run, videos, starts, durations, unreadable, analyser_args, again)
        stitched = _stitched(stores) if stitch else None
    except BaseException as exc:  # the run ends here: its audit trail still gets its closing record
        stores.audit.record(os_user(), "reprocess.stop", camera_id, run.stop_details(None, failed=_why(exc)))
        raise
    run.report_health(stores.health)
    stores.audit.record(os_user(), "reprocess.stop", camera_id, run.stop_details(stitched))
    if failures:
        click.echo(f"error: {failures} of {len(videos)} file(s) could not be reprocessed whole (named above)", err=True)
        raise SystemExit(1)


def _durations(videos: tuple[Path, ...]) -> tuple[list[float | None], dict[Path, str]]:
    """Each file's length, and why each file that cannot be opened cannot; all unreadable: refused at once."""
    durations: list[float | None] = []
    unreadable: dict[Path, str] = {}
    for video in videos:
        try:
            durations.append(file_duration_s(str(video)))
        except SourceError as exc:
            durations.append(None)
            unreadable[video] = str(exc)
    if len(unreadable) == len(videos):
        raise SourceError(next(iter(unreadable.values())))  # nothing to do: one clear message, before any work
    return durations, unreadable


def _reprocess_files(stores: Stores, run: ReprocessRun, videos: tuple[Path, ...], starts: list[datetime],
                     durations: list[float | None], unreadable: dict[Path, str], analyser_args: tuple,
                     again: bool) -> int:
    """Every file in turn; one that fails is reported and the others go on. Returns how many failed."""
    failures = 0
    for video, video_start, duration in zip(videos, starts, durations):
        if video in unreadable:
            failures += 1
            run.file_failed(video, unreadable[video])
            click.echo(f"error: {unreadable[video]} (skipped; the other files go on)", err=True)
            continue
        analyser = CameraAnalyser(run.camera_id, *analyser_args)
        with tqdm(total=round(duration or 0, 1), unit="s", desc=video.name, disable=None, leave=False) as bar:
            def advance(offset: float) -> None:
                bar.update(max(0.0, round(offset, 1) - bar.n))
            try:
                result = reprocess_file(video, run.camera_id, video_start, analyser, stores.publisher, stores.progress,
                                        advance, again, run.digests[video])
            except SourceError as exc:
                failures += 1
                run.file_failed(video, str(exc))
                click.echo(f"error: {exc}", err=True)
                continue
        counters = analyser.counters
        run.file_done(video, result, counters, video_start, duration)
        if result.skipped:
            click.echo(f"{video.name}: already reprocessed (use --again to redo)")
            continue
        resumed = f", resumed at {result.resumed_from_s:.1f}s" if result.resumed_from_s else ""
        click.echo(f"{video.name}: {counters.frames_analysed} frames analysed, {counters.matched_passes} matched "
                   f"pass(es), {counters.unmatched_passes} unmatched (counted only){resumed}")
        if result.damaged:
            failures += 1
            click.echo(f"error: {result.damaged}: its readable part was analysed", err=True)
    return failures


def _stitched(stores: Stores) -> int:
    service = trajectory_service(stores)
    try:
        totals = service.drain()
    finally:
        service.close()
    refused = "".join(f", {n} refused ({reason.replace('_', ' ')})" for reason, n in sorted(totals.refused.items()))
    click.echo(f"stitched {totals.stored} sighting(s) of {len(totals.restitched_entries)} person(s){refused}")
    return totals.stored


def _why(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, SystemExit):
        return f"exit {exc.code}"
    return f"{type(exc).__name__}: {str(exc)[:300]}"


@click.command("trajectory")
@CONFIG_OPTION
@click.option("--drain", is_flag=True, help="exit once every published sighting is stitched")
def trajectory(config_path: str, drain: bool) -> None:
    """Run the trajectory service: consume sightings, store them, stitch tracks."""
    stores = Stores.load(config_path)
    ensure_topics_of(stores.config)
    service = trajectory_service(stores)
    with settled_heap():
        if drain:
            try:
                totals = service.drain()
            finally:
                service.close()  # leave the group now: a next run need not wait for this member's session to end
            refused = "".join(f", {n} refused ({reason.replace('_', ' ')})" for reason, n in sorted(totals.refused.items()))
            click.echo(f"stitched {totals.stored} sighting(s), {totals.dead_lettered} dead-lettered{refused}")
            return
        serve_trajectory(stores, service)


@click.command("run")
@CONFIG_OPTION
@click.option("--duration", type=float, default=None, help="stop after this many seconds (default: until Ctrl-C)")
def run(config_path: str, duration: float | None) -> None:
    """All stages, live, on the configured cameras: workers, trajectory service, health."""
    stores = Stores.load(config_path)
    if not stores.config.cameras:
        raise UsageProblem(f"{config_path}: no cameras configured")
    if not stores.watchlist.records():
        click.echo("warning: the watch-list is empty, so no sighting can result", err=True)
    # Accountability: every run records the exact config in force (its hash) and the watch-list version.
    audit = stores.audit
    audit.record(os_user(), "run.start", config_path, {
        "config_sha256": hashlib.sha256(Path(config_path).read_bytes()).hexdigest(),
        "cameras": [c.id for c in stores.config.cameras], "watchlist_version": stores.watchlist.version()})
    live = LiveRun.start(stores)
    choice = choose(stores.config.analysis, stores.config.models)
    for note in choice.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(f"running {len(stores.config.cameras)} camera(s) on {len(live.workers)} worker process(es), "
               f"{choice.describe()}; Ctrl-C stops", err=True)
    try:
        with settled_heap():
            live.serve(duration)
    finally:
        audit.record(os_user(), "run.stop", config_path, {"watchlist_version": stores.watchlist.version()})
