"""Sightings (candidate matches), their evidence crops, and review decisions on them."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response

from facetrail.api import views
from facetrail.api.context import ApiContext, api_context
from facetrail.api.schemas import (
    DecisionEvent,
    DecisionRequest,
    DecisionResponse,
    ExampleWithdrawal,
    Problem,
    Sighting,
    SightingPage,
    Window,
)
from facetrail.api.windows import time_window
from facetrail.auth.dependencies import Principal, require_roles
from facetrail.auth.roles import OPERATOR, ROLES
from facetrail.storage.sighting_store import StoredSighting

router = APIRouter(prefix=views.API, tags=["sightings"], responses={401: {"model": Problem}, 403: {"model": Problem}})
EVENT_ID = Path(pattern=r"^[0-9a-f]{32}$")
Status = Literal["candidate", "confirmed", "rejected"]


def sighting_views(ctx: ApiContext, found: list[StoredSighting], names: dict) -> list[Sighting]:
    photos: dict[str, bool] = {}
    for s in found:
        if s.event.entry_id not in photos:
            photos[s.event.entry_id] = bool(ctx.watchlist.photo_keys(s.event.entry_id))
    ids = [s.event.event_id for s in found]
    confirmed, decided = ctx.review.confirmations_of(ids), ctx.review.decisions_of(ids)
    return [views.sighting(ctx, s.event, s.status, names[s.event.entry_id].display_name, photos[s.event.entry_id],
                           confirmed.get(s.event.event_id, 0), decided.get(s.event.event_id), _example(ctx, s))
            for s in found]


def _example(ctx: ApiContext, found: StoredSighting) -> str | None:
    if found.status != "rejected":
        return None
    example = ctx.review.example_of(found.event.event_id)
    return example.state if example else None


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
def decide(body: DecisionRequest, request: Request, event_id: str = EVENT_ID,
           principal: Principal = Depends(require_roles(OPERATOR)), ctx: ApiContext = Depends(api_context)) -> DecisionResponse:
    from facetrail.accountability.review import AlreadyDecided, ReviewError, UnknownSighting

    found, entries = visible_sighting(ctx, principal, event_id)
    try:
        outcome = ctx.review.decide(event_id, principal.username, body.decision, body.note)
    except AlreadyDecided:
        raise HTTPException(status_code=409, detail=_decided_already(ctx, event_id)) from None
    except ReviewError as exc:
        code = 404 if isinstance(exc, UnknownSighting) else 422
        raise HTTPException(status_code=code, detail=str(exc)) from None
    if ctx.watchlist.get(found.event.entry_id) is None:  # erased while the decision was taken
        raise HTTPException(status_code=409, detail="the watch-list entry of this sighting was erased while the decision "
                                                    "was taken: the sighting and everything of the entry are gone")
    if outcome.status == "rejected":  # a false match must not shape the person's track
        ctx.restitcher.restitch(found.event.entry_id, found.event.first_seen)
    now = _pushed(ctx, request, event_id, entries)
    return DecisionResponse(event_id=event_id, status=outcome.status, confirmations=outcome.confirmations,
                            required=outcome.required, decisions=now.decisions, rejected_example=now.rejected_example)


@router.post("/sightings/{event_id}/example/withdrawal", response_model=DecisionResponse,
             responses={404: {"model": Problem}, 409: {"model": Problem}, 422: {"model": Problem}})
def withdraw_example(body: ExampleWithdrawal, request: Request, event_id: str = EVENT_ID,
                     principal: Principal = Depends(require_roles(OPERATOR)),
                     ctx: ApiContext = Depends(api_context)) -> DecisionResponse:
    """A second reviewer takes back the 'not this person' example a rejection kept (review.keep_rejected_examples),
    so it no longer suppresses true matches of the person; the sighting stays rejected."""
    from facetrail.accountability.review import AlreadyDecided, ReviewError

    _, entries = visible_sighting(ctx, principal, event_id)
    try:
        ctx.review.withdraw_example(event_id, principal.username, body.reason)
    except ReviewError as exc:
        raise HTTPException(status_code=409 if isinstance(exc, AlreadyDecided) else 422, detail=str(exc)) from None
    now = _pushed(ctx, request, event_id, entries)
    return DecisionResponse(event_id=event_id, status=now.status, confirmations=now.confirmations, required=now.required,
                            decisions=now.decisions, rejected_example=now.rejected_example)


def _pushed(ctx: ApiContext, request: Request, event_id: str, entries: dict) -> Sighting:
    """The sighting as it is now, pushed to every open console that may see the person (the live stream)."""
    found = ctx.sightings.get(event_id)
    assert found is not None  # it was found before the decision, and decisions delete no sighting
    now = sighting_views(ctx, [found], entries)[0]
    record = entries[found.event.entry_id]
    roles = frozenset(r for r in ROLES if ctx.config.watchlist.allows(record.watchlist, r))
    request.app.state.fanout.publish_threadsafe(DecisionEvent(sighting=now), roles)
    return now


def _decided_already(ctx: ApiContext, event_id: str) -> str:
    """Who settled it and when, so a reviewer acting on an old card learns what happened."""
    outcome = ctx.review.outcome(event_id)
    deciders = [d for d in ctx.review.decisions(event_id) if d.decision == ("reject" if outcome.status == "rejected" else "confirm")]
    who = " and ".join(sorted({d.reviewer for d in deciders})) or "someone"
    when = max((d.decided_at for d in deciders), default=None)
    at = f" at {when:%H:%M} UTC on {when:%Y-%m-%d}" if when else ""
    return f"This sighting was already {outcome.status} by {who}{at}; nothing was changed."
