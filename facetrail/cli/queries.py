"""`facetrail tracks` and `facetrail sightings`. Every query is audited, as the API's are, under the OS user."""

from __future__ import annotations

import json

import click

from facetrail.audit.log import os_user
from facetrail.cli.context import CONFIG_OPTION, Stores
from facetrail.cli.errors import UsageProblem
from facetrail.cli.pipeline import parse_time

FORMAT_OPTION = click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
PERSON_OPTION = click.option("--person", default=None, help="display name or entry id")
SINCE_OPTION = click.option("--since", default=None, help="ISO 8601 time with timezone")
UNTIL_OPTION = click.option("--until", default=None, help="ISO 8601 time with timezone")
LIMIT_OPTION = click.option("--limit", type=click.IntRange(1, 10_000), default=1000, show_default=True)


def _entries(stores: Stores, person: str | None) -> tuple[list[str] | None, dict[str, str]]:
    names = {r.entry_id: r.display_name for r in stores.watchlist.records()}
    if person is None:
        return None, names
    chosen = [eid for eid, name in names.items() if person in (eid, name)]
    if not chosen:
        raise UsageProblem(f"no watch-list entry named or with id {person!r}")
    return chosen, names


def _window(since: str | None, until: str | None):
    start, end = parse_time(since, "--since"), parse_time(until, "--until")
    if start and end and end < start:
        raise UsageProblem("--until is before --since")
    return start, end


def _audit_search(stores: Stores, action: str, entry_ids: list[str] | None, returned: int, **query) -> None:
    """Who searched for whom (entry ids, never names), over which window, and how much came back."""
    stores.audit.record(os_user(), action, ",".join(entry_ids or []), {
        "via": "cli", **{k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in query.items()}, "returned": returned})


def _t(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S")


@click.command("tracks")
@CONFIG_OPTION
@PERSON_OPTION
@SINCE_OPTION
@UNTIL_OPTION
@LIMIT_OPTION
@FORMAT_OPTION
def tracks(config_path: str, person: str | None, since: str | None, until: str | None, limit: int, fmt: str) -> None:
    """Movement tracks of watch-listed people, oldest first."""
    stores = Stores.load(config_path)
    entry_ids, names = _entries(stores, person)
    start, end = _window(since, until)
    found = stores.tracks.search(entry_ids=entry_ids, since=start, until=end, limit=limit)
    _audit_search(stores, "tracks.search", entry_ids, len(found), since=start, until=end, limit=limit)
    if fmt == "json":
        click.echo(json.dumps([{
            "track_id": t.track_id, "entry_id": t.entry_id, "person": names.get(t.entry_id, "?"),
            "started_at": t.started_at.isoformat(), "ended_at": t.ended_at.isoformat(), "plausible": t.plausible,
            "cameras": list(t.camera_order),
            "visits": [{"camera_id": v.camera_id, "entered_at": v.entered_at.isoformat(), "exited_at": v.exited_at.isoformat(),
                        "best_score": round(v.best_score, 4), "sightings": v.sightings, "plausible_arrival": v.plausible_arrival,
                        "speed_mps": v.speed_mps} for v in t.visits]} for t in found], indent=2))
        return
    if not found:
        click.echo("no tracks")
        return
    for t in found:
        flag = "" if t.plausible else "  [IMPLAUSIBLE TRAVEL: check for a false match]"
        click.echo(f"{names.get(t.entry_id, t.entry_id)}  {_t(t.started_at)} -> {_t(t.ended_at)}  "
                   f"{' -> '.join(t.camera_order)}{flag}")
        for v in t.visits:
            speed = f"  arrived at {v.speed_mps:.1f} m/s" if v.speed_mps is not None else ""
            click.echo(f"    {v.camera_id:12} {_t(v.entered_at)} - {v.exited_at:%H:%M:%S}  score {v.best_score:.2f}{speed}")


@click.command("sightings")
@CONFIG_OPTION
@PERSON_OPTION
@click.option("--camera", "camera_id", default=None, help="only this camera")
@SINCE_OPTION
@UNTIL_OPTION
@LIMIT_OPTION
@FORMAT_OPTION
def sightings(config_path: str, person: str | None, camera_id: str | None, since: str | None, until: str | None,
              limit: int, fmt: str) -> None:
    """Candidate matches (sightings) of watch-listed people, oldest first."""
    stores = Stores.load(config_path)
    entry_ids, names = _entries(stores, person)
    start, end = _window(since, until)
    found = stores.sightings.search(entry_ids=entry_ids, camera_id=camera_id, since=start, until=end, limit=limit)
    _audit_search(stores, "sightings.search", entry_ids, len(found), camera=camera_id, since=start, until=end, limit=limit)
    if fmt == "json":
        click.echo(json.dumps([{**s.event.model_dump(mode="json"), "person": names.get(s.event.entry_id, "?"),
                                "status": s.status} for s in found], indent=2))
        return
    if not found:
        click.echo("no sightings")
        return
    for s in found:
        e = s.event
        click.echo(f"{_t(e.first_seen)} - {e.last_seen:%H:%M:%S}  {e.camera_id:12} {names.get(e.entry_id, e.entry_id):24} "
                   f"score {e.score:.2f}  {s.status}")
