"""Sightings (candidate matches), their evidence crops, and review decisions on them."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response

from facetrail.api import views
from facetrail.api.context import ApiContext, api_context
from facetrail.api.schemas import DecisionRequest, DecisionResponse, Problem, Sighting, SightingPage, Window
from facetrail.api.windows import time_window
from facetrail.auth.dependencies import Principal, require_roles
from facetrail.auth.roles import OPERATOR
from facetrail.storage.sighting_store import StoredSighting

router = APIRouter(prefix=views.API, tags=["sightings"], responses={401: {"model": Problem}, 403: {"model": Problem}})
EVENT_ID = Path(pattern=r"^[0-9a-f]{32}$")
Status = Literal["candidate", "confirmed", "rejected"]


def sighting_views(ctx: ApiContext, found: list[StoredSighting], names: dict) -> list[Sighting]:
    photos: dict[str, bool] = {}
    for s in found:
        if s.event.entry_id not in photos:
            photos[s.event.entry_id] = bool(ctx.watchlist.photo_keys(s.event.entry_id))
    confirmed = ctx.review.confirmations_of([s.event.event_id for s in found])
    return [views.sighting(ctx, s.event, s.status, names[s.event.entry_id].display_name, photos[s.event.entry_id],
                           confirmed.get(s.event.event_id, 0)) for s in found]


def visible_sighting(ctx: ApiContext, principal: Principal, event_id: str) -> tuple[StoredSighting, dict]:
    found = ctx.sightings.get(event_id)
    entries = ctx.visible_entries(principal.role)
    if found is None or found.event.entry_id not in entries:
        raise HTTPException(status_code=404, detail=f"no sighting {event_id!r} that you may see")
    return found, entries


@router.get("/sightings", response_model=SightingPage)
def search_sightings(person: str | None = Query(None, pattern=r"^[A-Za-z0-9_-]{1,64}$"),
                     camera: str | None = Query(None, pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$"),
                     status: Status | None = None, window: Window = Depends(time_window),
                     principal: Principal = Depends(require_roles(OPERATOR)),
                     ctx: ApiContext = Depends(api_context)) -> SightingPage:
    entries = ctx.visible_entries(principal.role)
    wanted = [e for e in ([person] if person else entries) if e in entries]
    found = ctx.sightings.search(entry_ids=wanted, since=window.since, until=window.until, limit=window.limit,
                           offset=window.offset, camera_id=camera, status=status)
    ctx.audit.record(principal.username, "sightings.search", person or "", {
        "camera": camera, "status": status, "since": window.since.isoformat(), "until": window.until.isoformat(),
        "limit": window.limit, "offset": window.offset, "returned": len(found)})
    return SightingPage(items=sighting_views(ctx, found, entries), window=window)


@router.get("/sightings/{event_id}", response_model=Sighting, responses={404: {"model": Problem}})
def view_sighting(event_id: str = EVENT_ID, principal: Principal = Depends(require_roles(OPERATOR)),
                  ctx: ApiContext = Depends(api_context)) -> Sighting:
    found, entries = visible_sighting(ctx, principal, event_id)
    ctx.audit.record(principal.username, "sighting.view", event_id, {"entry_id": found.event.entry_id})
    return sighting_views(ctx, [found], entries)[0]


@router.get("/sightings/{event_id}/evidence", response_class=Response,
            responses={200: {"content": {"image/jpeg": {}}}, 404: {"model": Problem}})
def evidence(event_id: str = EVENT_ID, principal: Principal = Depends(require_roles(OPERATOR)),
             ctx: ApiContext = Depends(api_context)) -> Response:
    found, _ = visible_sighting(ctx, principal, event_id)
    if found.event.evidence_key is None:
        raise HTTPException(status_code=404, detail="this sighting has no evidence crop")
    try:
        data = ctx.objects.get(found.event.evidence_key)
    except KeyError:
        raise HTTPException(status_code=404, detail="the evidence crop is no longer stored") from None
    ctx.audit.record(principal.username, "evidence.view", event_id, {"entry_id": found.event.entry_id})
    return Response(content=data, media_type="image/jpeg", headers={"Cache-Control": "private, no-store"})


@router.post("/sightings/{event_id}/decision", response_model=DecisionResponse,
             responses={404: {"model": Problem}, 409: {"model": Problem}})
def decide(body: DecisionRequest, event_id: str = EVENT_ID, principal: Principal = Depends(require_roles(OPERATOR)),
           ctx: ApiContext = Depends(api_context)) -> DecisionResponse:
    from facetrail.accountability.review import AlreadyDecided, ReviewError, UnknownSighting

    found, _ = visible_sighting(ctx, principal, event_id)
    try:
        outcome = ctx.review.decide(event_id, principal.username, body.decision, body.note)
    except ReviewError as exc:
        code = 409 if isinstance(exc, AlreadyDecided) else 404 if isinstance(exc, UnknownSighting) else 422
        raise HTTPException(status_code=code, detail=str(exc)) from None
    if ctx.watchlist.get(found.event.entry_id) is None:  # erased while the decision was taken
        raise HTTPException(status_code=409, detail="the watch-list entry of this sighting was erased while the decision "
                                                    "was taken: the sighting and everything of the entry are gone")
    if outcome.status == "rejected":  # a false match must not shape the person's track
        ctx.restitcher.restitch(found.event.entry_id, found.event.first_seen)
    return DecisionResponse(event_id=event_id, status=outcome.status, confirmations=outcome.confirmations,
                            required=outcome.required)
