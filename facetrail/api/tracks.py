"""Movement tracks by person and time, and who visited a camera when. Every query is audited."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Path, Query

from facetrail.api import views
from facetrail.api.context import ApiContext, api_context
from facetrail.api.schemas import CameraVisit, CameraVisitPage, Problem, Track, TrackPage, Window
from facetrail.api.windows import time_window
from facetrail.auth.dependencies import Principal, require_roles
from facetrail.auth.roles import OPERATOR

router = APIRouter(prefix=views.API, tags=["tracks"], responses={401: {"model": Problem}, 403: {"model": Problem}})
PERSON = Query(None, pattern=r"^[A-Za-z0-9_-]{1,64}$", description="entry id of a watch-listed person")


def _window_details(window: Window) -> dict:
    return {"since": window.since.isoformat(), "until": window.until.isoformat(), "limit": window.limit, "offset": window.offset}


@router.get("/tracks", response_model=TrackPage)
def search_tracks(person: str | None = PERSON, camera: str | None = Query(None, pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$",
                                                                        description="only tracks that passed this camera"),
                  window: Window = Depends(time_window),
                  principal: Principal = Depends(require_roles(OPERATOR)), ctx: ApiContext = Depends(api_context)) -> TrackPage:
    entries = ctx.visible_entries(principal.role)
    wanted = [person] if person is not None else list(entries)
    wanted = [e for e in wanted if e in entries]
    found = ctx.tracks.search(entry_ids=wanted, since=window.since, until=window.until,
                              limit=window.limit, offset=window.offset, camera_id=camera) if wanted else []
    ctx.audit.record(principal.username, "tracks.search", person or "", {**_window_details(window), "camera": camera,
                                                                         "returned": len(found)})
    return TrackPage(items=[views.track(ctx, t, entries[t.entry_id].display_name) for t in found], window=window)


@router.get("/tracks/{track_id}", response_model=Track, responses={404: {"model": Problem}})
def view_track(track_id: str = Path(pattern=r"^[0-9a-f]{32}$"), principal: Principal = Depends(require_roles(OPERATOR)),
               ctx: ApiContext = Depends(api_context)) -> Track:
    found = ctx.tracks.get(track_id)
    entries = ctx.visible_entries(principal.role)
    if found is None or found.entry_id not in entries:
        raise HTTPException(status_code=404, detail=f"no track {track_id!r} that you may see")
    ctx.audit.record(principal.username, "track.view", track_id, {"entry_id": found.entry_id})
    return views.track(ctx, found, entries[found.entry_id].display_name)


@router.get("/cameras/{camera_id}/visits", response_model=CameraVisitPage, responses={404: {"model": Problem}})
def visits_at_camera(camera_id: str = Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$"), window: Window = Depends(time_window),
                     principal: Principal = Depends(require_roles(OPERATOR)),
                     ctx: ApiContext = Depends(api_context)) -> CameraVisitPage:
    if camera_id not in ctx.cameras:
        raise HTTPException(status_code=404, detail=f"no configured camera {camera_id!r}")
    entries = ctx.visible_entries(principal.role)
    found = ctx.tracks.visits_at(camera_id, window.since, window.until, window.limit, window.offset)
    ctx.audit.record(principal.username, "visits.search", camera_id, {**_window_details(window), "returned": len(found)})
    items = [CameraVisit(entry_id=e, person=entries[e].display_name, visit=views.visit(ctx, v)) for e, v in found if e in entries]
    return CameraVisitPage(items=items, window=window)
