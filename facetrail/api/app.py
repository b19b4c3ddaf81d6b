"""The FastAPI application: routes under /api/v1, the dashboard at /, metrics at /metrics."""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry
from starlette.concurrency import run_in_threadpool
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException

from facetrail.api import (
    alerts,
    archive_jobs,
    audit_log,
    cameras,
    enrolment,
    matching,
    metrics,
    people,
    session,
    sightings,
    site_plan,
    tracks,
    users,
)
from facetrail.api.context import ApiContext
from facetrail.api.docs import serve_docs
from facetrail.api.live import AlertFanout, AlertFeed
from facetrail.api.middleware import SECURITY_HEADERS, BodyLimit, RequestObserver, SecurityHeaders
from facetrail.api.views import API
from facetrail.storage.reachability import DatabaseLink, is_unreachable
from facetrail.auth.accounts import DEFAULT_TOKEN_TTL
from facetrail.config import Config

STATIC = Path(__file__).parent / "static"
IMAGE_UPLOAD_PATHS = (enrolment.UPLOAD_PATH, site_plan.UPLOAD_PATH)
SHELF_PURGE_S = 60
log = logging.getLogger("facetrail.api")


AUDITED_REFUSALS: dict[tuple[str, str], str] = {**users.AUDITED_REFUSALS}


def _validation_problem(ctx: ApiContext):
    """422 naming where, what and why, never the submitted value (it may be a password, or a NaN JSON cannot carry);
    a refusal of a route in AUDITED_REFUSALS is audited under the signed-in user, as its other refusals are."""

    def problem(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"type": str(e.get("type", "")), "loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))}
                  for e in exc.errors()]
        message = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors) or "invalid request"
        action = AUDITED_REFUSALS.get((request.method, request.url.path))
        principal = getattr(request.state, "principal", None)
        if action and principal is not None:
            ctx.audit.record(principal.username, action, "", {"reason": message})
        return JSONResponse(status_code=422, content={"detail": errors, "message": message})

    return problem


def _internal_problem(_request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error: %s", type(exc).__name__, exc_info=exc)
    # Starlette answers this outside every middleware, so the headers the rest get are set here.
    return JSONResponse(status_code=500, content={"detail": "internal error; the server log has the cause"},
                        headers=SECURITY_HEADERS)


def _database_problem(database: DatabaseLink):
    """503 with Retry-After while the database is unreachable (one log line when that starts, one when it ends),
    instead of a 500 and a traceback per request; any other database error is a bug like the rest."""

    def problem(request: Request, exc: Exception) -> JSONResponse:
        if not is_unreachable(exc):
            return _internal_problem(request, exc)
        database.lost(exc)
        return JSONResponse(status_code=503, content={"detail": "the database is unreachable; try again shortly"},
                            headers={**SECURITY_HEADERS, "Retry-After": "5"})

    return problem


def _audited_refusals(ctx: ApiContext):
    """401 and 403 answers go to the audit log: who (or 'anonymous'), which route, why; repeats from one client on one
    route within a minute as one row with their count (api.refusals). Login failures have their own."""

    async def refused(request: Request, exc: HTTPException):
        route = getattr(request.scope.get("route"), "path", "unmatched")
        if exc.status_code in (401, 403) and route != f"{API}/login":
            principal = getattr(request.state, "principal", None)
            details = {"method": request.method, "status": exc.status_code, "reason": str(exc.detail),
                       "client": request.client.host if request.client else None}
            await run_in_threadpool(ctx.refusals.refused, principal.username if principal else "anonymous",
                                    "access.refused", route, details)
        return await http_exception_handler(request, exc)

    return refused


async def _purge_shelf(ctx: ApiContext) -> None:
    """Abandoned enrolment uploads leave memory when their time is up, even if nobody calls the API again."""
    while True:
        await asyncio.sleep(SHELF_PURGE_S)
        ctx.photo_shelf.purge()
        await run_in_threadpool(ctx.refusals.flush)  # refusal counts reach the log within two minutes, floods or not


def _lifespan(ctx: ApiContext, live_alerts: bool):
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        feed = None
        if live_alerts and ctx.bus is not None:
            feed = AlertFeed(ctx, app.state.fanout, asyncio.get_running_loop())
            feed.start()
        app.state.feed = feed
        ctx.accounts.purge_expired_tokens()
        purging = asyncio.create_task(_purge_shelf(ctx))
        try:
            yield
        finally:
            purging.cancel()
            ctx.refusals.flush(everything=True)
            if feed is not None:
                feed.stop()

    return lifespan


def create_app(config: Config, *, token_ttl: timedelta = DEFAULT_TOKEN_TTL, live_alerts: bool = True,
               context: ApiContext | None = None) -> FastAPI:
    """The app over ``context`` (the process's composition root), or over one built here from ``config``."""
    ctx = context or ApiContext(config, token_ttl=token_ttl)
    app = FastAPI(title="facetrail", version="1", lifespan=_lifespan(ctx, live_alerts), docs_url=None, redoc_url=None,
                  description="Watch-list sightings, movement tracks, evidence and live alerts. "
                              "Log in with `POST /api/v1/login` and send the token as `Authorization: Bearer <token>`.")
    registry = CollectorRegistry()
    app.state.ctx, app.state.accounts, app.state.fanout, app.state.registry = ctx, ctx.accounts, AlertFanout(), registry
    database = app.state.database = DatabaseLink("api", "answering 503 until it is back")
    registry.register(metrics.StoreCollector(ctx, app.state.fanout, database))
    request_metrics = metrics.RequestMetrics(registry)

    def observe(route: str, status: int, seconds: float) -> None:
        request_metrics.observe(route, status, seconds)
        if status < 500 and (route.startswith(API) or route == "/metrics"):  # each reads the database (the token)
            database.back()

    app.add_middleware(RequestObserver, observe=observe, log=log)
    app.add_middleware(BodyLimit, limit=config.api.max_body_bytes, image_limit=config.api.max_image_bytes,
                       image_paths=IMAGE_UPLOAD_PATHS)
    app.add_middleware(SecurityHeaders)  # outermost, so refusals by BodyLimit carry the headers too
    app.add_exception_handler(RequestValidationError, _validation_problem(ctx))
    app.add_exception_handler(HTTPException, _audited_refusals(ctx))
    app.add_exception_handler(DBAPIError, _database_problem(database))
    app.add_exception_handler(Exception, _internal_problem)
    for module in (session, people, enrolment, audit_log, users, tracks, sightings, alerts, cameras, site_plan, matching,
                   metrics, archive_jobs):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    serve_docs(app)

    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    return app
