"""The alert queue (candidate sightings awaiting review) and the live alert stream (server-sent events)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from facetrail.api import views
from facetrail.api.context import ApiContext, api_context
from facetrail.api.live import server_sent
from facetrail.api.schemas import Alert, Problem, SightingPage, Window
from facetrail.api.sightings import sighting_views
from facetrail.api.windows import time_window
from facetrail.auth.dependencies import Principal, require_roles
from facetrail.auth.roles import OPERATOR

router = APIRouter(prefix=views.API, tags=["alerts"], responses={401: {"model": Problem}, 403: {"model": Problem}})
HEARTBEAT_S = 15.0
# How often an open stream re-checks its session (and before each alert): a revoked one ends within this.
SESSION_CHECK_S = 0.5


def _session_alive(ctx: ApiContext, principal: Principal) -> bool:
    user = ctx.accounts.authenticate(principal.token)
    return user is not None and user.username == principal.username and user.role == principal.role


@router.get("/alerts", response_model=SightingPage)
def alert_queue(window: Window = Depends(time_window), principal: Principal = Depends(require_roles(OPERATOR)),
                ctx: ApiContext = Depends(api_context)) -> SightingPage:
    """Candidate sightings awaiting review, newest first."""
    entries = ctx.visible_entries(principal.role)
    found = ctx.sightings.search(entry_ids=list(entries), since=window.since, until=window.until, limit=window.limit,
                           offset=window.offset, status="candidate", newest_first=True)
    ctx.audit.record(principal.username, "alerts.search", "", {
        "since": window.since.isoformat(), "until": window.until.isoformat(), "limit": window.limit,
        "offset": window.offset, "returned": len(found)})
    return SightingPage(items=sighting_views(ctx, found, entries), window=window)


@router.get("/alerts/stream", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}},
                             "description": "one `alert` event (an Alert as JSON) per new sighting, and one "
                                            "`decision` event (a DecisionEvent) whenever a reviewer decides one"}})
async def alert_stream(request: Request, principal: Principal = Depends(require_roles(OPERATOR)),
                       ctx: ApiContext = Depends(api_context)) -> StreamingResponse:
    await run_in_threadpool(ctx.audit.record, principal.username, "alerts.stream.connect", "",
                            {"client": request.client.host if request.client else None})
    fanout = request.app.state.fanout
    subscriber = fanout.subscribe(principal.role)

    async def events():
        quiet_s = 0.0
        try:
            yield ": connected\n\n"
            while not await request.is_disconnected():
                try:
                    alert = await asyncio.wait_for(subscriber.queue.get(), timeout=SESSION_CHECK_S)
                except asyncio.TimeoutError:
                    alert = None
                # The session is checked again before every alert and every SESSION_CHECK_S: a user disabled,
                # logged out, reset or removed (by any process) gets nothing more and the stream ends.
                if not await run_in_threadpool(_session_alive, ctx, principal):
                    await run_in_threadpool(ctx.audit.record, principal.username, "alerts.stream.closed", "",
                                            {"reason": "session revoked or expired"})
                    return
                if alert is None:
                    quiet_s += SESSION_CHECK_S
                    if quiet_s >= HEARTBEAT_S:
                        quiet_s = 0.0
                        yield ": keep-alive\n\n"
                    continue
                if isinstance(alert, Alert):  # a decision pushed to reviewers is no alert delivered
                    await run_in_threadpool(ctx.audit.record, principal.username, "alert.delivered",
                                            alert.sighting.event_id, {"entry_id": alert.sighting.entry_id,
                                                                      "track_id": alert.track_id, "via": "stream"})
                yield server_sent(alert)
        finally:
            fanout.unsubscribe(subscriber)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
