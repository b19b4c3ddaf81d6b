"""ASGI middleware around every response: security headers, no caching of API data, bounded request bodies.

They are plain ASGI (not Starlette's BaseHTTPMiddleware) so that they also wrap
error responses and streams, and so that an oversized body is refused from its
Content-Length before a byte of it is read or parsed.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob:; style-src 'self'; script-src 'self'; "
                               "connect-src 'self'; frame-ancestors 'none'",
}
# ReDoc styles itself with <style> elements it writes at run time (styled-components): on its page alone, inline
# styles are allowed. Scripts stay 'self' everywhere, and that page shows the OpenAPI description only.
PAGE_POLICIES = {"/redoc": SECURITY_HEADERS["Content-Security-Policy"].replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'").replace("script-src 'self'", "script-src 'self'; worker-src blob:")}
_SECURITY_NAMES = {name.lower().encode("latin-1") for name in SECURITY_HEADERS}
# Responses under these paths carry personal data or counts about it: no browser or proxy may keep a copy.
UNCACHED_PREFIXES = ("/api/", "/metrics")


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        uncached = scope["path"].startswith(UNCACHED_PREFIXES)
        policy = {"Content-Security-Policy": PAGE_POLICIES[scope["path"]]} if scope["path"] in PAGE_POLICIES else {}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _SECURITY_NAMES]
                headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in {**SECURITY_HEADERS, **policy}.items()]
                if uncached and not any(k.lower() == b"cache-control" for k, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class RequestObserver:
    """Times each request and reports (route template, status, seconds): never the query string, which may name people."""

    def __init__(self, app: ASGIApp, observe: Callable[[str, int, float], None], log: logging.Logger) -> None:
        self.app, self.observe, self.log = app, observe, log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            elapsed = time.perf_counter() - started
            self.observe(route, status, elapsed)
            self.log.info("%s %s %s %.1fms", scope["method"], route, status, elapsed * 1000)


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int, setting: str = "api.max_body_bytes") -> None:
        super().__init__(status_code=413, detail=f"the request body is larger than {limit} bytes ({setting})")


class BodyLimit:
    """413 for a body over `limit` bytes: at once from Content-Length, else as soon as the chunks read pass it.

    Paths in `image_paths` (image uploads) have `image_limit` instead."""

    def __init__(self, app: ASGIApp, limit: int, image_limit: int = 0, image_paths: tuple[str, ...] = ()) -> None:
        self.app, self.limit, self.image_limit, self.image_paths = app, limit, image_limit, image_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        image = self.image_limit and scope["path"] in self.image_paths
        limit, setting = (self.image_limit, "api.max_image_bytes") if image else (self.limit, "api.max_body_bytes")
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _problem(send, BodyTooLarge(limit, setting))
            return
        received = 0

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit, setting)  # FastAPI passes HTTPExceptions from body reading on as they are
            return message

        await self.app(scope, bounded_receive, send)


async def _problem(send: Send, error: HTTPException) -> None:
    body = json.dumps({"detail": error.detail}).encode()
    await send({"type": "http.response.start", "status": error.status_code,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
