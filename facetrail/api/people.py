"""The watch-list as enrollers see it: who is on it and why, never their embeddings."""

from __future__ import annotations

import hashlib

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response

from facetrail.api import views
from facetrail.api.context import ApiContext, api_context
from facetrail.api.schemas import Erased, PeoplePage, Person, Problem
from facetrail.api.windows import page
from facetrail.auth.dependencies import Principal, require_roles
from facetrail.auth.roles import ENROLLER, OPERATOR
from facetrail.accountability.erasure import erase_entry
from facetrail.watchlist import EntryRecord

router = APIRouter(prefix=views.API, tags=["watch-list"], responses={401: {"model": Problem}, 403: {"model": Problem}})
ENTRY_ID = Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")


def visible_entry(ctx: ApiContext, principal: Principal, entry_id: str) -> EntryRecord:
    record = ctx.visible_entries(principal.role).get(entry_id)
    if record is None:
        raise HTTPException(status_code=404, detail=f"no watch-list entry {entry_id!r} that you may see")
    return record


@router.get("/people", response_model=PeoplePage)
def list_people(paging: tuple[int, int] = Depends(page), principal: Principal = Depends(require_roles(ENROLLER, OPERATOR)),
                ctx: ApiContext = Depends(api_context)) -> PeoplePage:
    limit, offset = paging
    records = sorted(ctx.visible_entries(principal.role).values(), key=lambda r: (r.display_name, r.entry_id))
    chosen = records[offset:offset + limit]
    ctx.audit.record(principal.username, "watchlist.read", "", {"limit": limit, "offset": offset, "returned": len(chosen)})
    items = [views.person(r, len(ctx.watchlist.photo_keys(r.entry_id))) for r in chosen]
    return PeoplePage(items=items, limit=limit, offset=offset, total=len(records))


@router.get("/people/{entry_id}", response_model=Person, responses={404: {"model": Problem}})
def get_person(entry_id: str = ENTRY_ID, principal: Principal = Depends(require_roles(ENROLLER)),
               ctx: ApiContext = Depends(api_context)) -> Person:
    record = visible_entry(ctx, principal, entry_id)
    ctx.audit.record(principal.username, "watchlist.read", entry_id)
    return views.person(record, len(ctx.watchlist.photo_keys(entry_id)))


@router.delete("/people/{entry_id}", response_model=Erased, responses={404: {"model": Problem}})
def remove_person(entry_id: str = ENTRY_ID,
                  reason: str | None = Query(None, max_length=2000, description="why (as `watchlist erase --reason`)"),
                  principal: Principal = Depends(require_roles(ENROLLER)), ctx: ApiContext = Depends(api_context)) -> Erased:
    record = visible_entry(ctx, principal, entry_id)
    report = erase_entry(entry_id, ctx.db, ctx.objects, ctx.bus,
                         bus_keeps_for=ctx.config.retention.bus_keeps_for)
    # Like the CLI's, the reason may name the person: the permanent log keeps its hash, never its text.
    ctx.audit.record(principal.username, "watchlist.remove", entry_id, {
        "objects_deleted": report.objects_deleted, "deliveries_cancelled": report.deliveries_cancelled,
        "watchlist": record.watchlist,
        "reason_sha256": hashlib.sha256(reason.encode()).hexdigest() if reason else None})
    return Erased(entry_id=entry_id, objects_deleted=report.objects_deleted)


@router.get("/people/{entry_id}/photos/{index}", response_class=Response,
            responses={200: {"content": {"image/jpeg": {}}}, 404: {"model": Problem}})
def enrolled_photo(entry_id: str = ENTRY_ID, index: int = Path(ge=0, le=100),
                   principal: Principal = Depends(require_roles(OPERATOR, ENROLLER)),
                   ctx: ApiContext = Depends(api_context)) -> Response:
    visible_entry(ctx, principal, entry_id)
    keys = ctx.watchlist.photo_keys(entry_id)
    if index >= len(keys):
        raise HTTPException(status_code=404, detail=f"entry {entry_id!r} has {len(keys)} enrolled photo(s)")
    try:
        data = ctx.objects.get(keys[index])
    except KeyError:
        raise HTTPException(status_code=404, detail="the enrolled photo is no longer stored") from None
    ctx.audit.record(principal.username, "watchlist.photo.view", entry_id, {"index": index})
    return Response(content=data, media_type="image/jpeg", headers={"Cache-Control": "private, no-store"})
