"""The FastAPI application: routes under /api/v1, the dashboard at /, metrics at /metrics."""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry

from facetrail.api import alerts, cameras, metrics, people, session, sightings, tracks
from facetrail.api.context import ApiContext
from facetrail.api.live import AlertFanout, AlertFeed
from facetrail.auth.accounts import DEFAULT_TOKEN_TTL
from facetrail.config import Config

STATIC = Path(__file__).parent / "static"
log = logging.getLogger("facetrail.api")
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob:; style-src 'self'; script-src 'self'; "
                               "connect-src 'self'; frame-ancestors 'none'",
}


def _validation_problem(_request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = jsonable_encoder(exc.errors(), custom_encoder={Exception: str})
    message = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in errors)
    return JSONResponse(status_code=422, content={"detail": errors, "message": message or "invalid request"})


def _internal_problem(_request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error: %s", type(exc).__name__, exc_info=exc)
    return JSONResponse(status_code=500, content={"detail": "internal error; the server log has the cause"})


def _lifespan(ctx: ApiContext, live_alerts: bool):
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        feed = None
        if live_alerts and ctx.bus is not None:
            feed = AlertFeed(ctx, app.state.fanout, asyncio.get_running_loop())
            feed.start()
        app.state.feed = feed
        ctx.accounts.purge_expired_tokens()
        try:
            yield
        finally:
            if feed is not None:
                feed.stop()

    return lifespan


def _observe_requests(app: FastAPI, request_metrics: metrics.RequestMetrics) -> None:
    @app.middleware("http")
    async def observe(request: Request, call_next):
        started = time.perf_counter()
        response = await call_next(request)
        route = getattr(request.scope.get("route"), "path", "unmatched")
        elapsed = time.perf_counter() - started
        request_metrics.observe(route, response.status_code, elapsed)
        # The route template, never the query string: queries may name people.
        log.info("%s %s %s %.1fms", request.method, route, response.status_code, elapsed * 1000)
        response.headers.update(SECURITY_HEADERS)
        return response


def create_app(config: Config, *, token_ttl: timedelta = DEFAULT_TOKEN_TTL, live_alerts: bool = True) -> FastAPI:
    ctx = ApiContext(config, token_ttl=token_ttl)
    app = FastAPI(title="facetrail", version="1", lifespan=_lifespan(ctx, live_alerts),
                  description="Watch-list sightings, movement tracks, evidence and live alerts. "
                              "Log in with POST /api/v1/login and send the token as 'Authorization: Bearer <token>'.")
    registry = CollectorRegistry()
    app.state.ctx, app.state.accounts, app.state.fanout, app.state.registry = ctx, ctx.accounts, AlertFanout(), registry
    registry.register(metrics.StoreCollector(ctx, app.state.fanout))
    _observe_requests(app, metrics.RequestMetrics(registry))
    app.add_exception_handler(RequestValidationError, _validation_problem)
    app.add_exception_handler(Exception, _internal_problem)
    for module in (session, people, tracks, sightings, alerts, cameras, metrics):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    return app
