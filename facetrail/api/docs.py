"""The OpenAPI pages, /docs (Swagger UI) and /redoc, served with their assets from the fastapi-offline package.

FastAPI's own pages load their scripts from a CDN and start them with an inline
script, both of which the app's Content-Security-Policy forbids (and the README
promises no CDN). Here the assets come from the installed package under
/docs-assets, and each page starts its viewer from a script file of our own.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).parent / "static"  # swagger-ui-bundle.js, swagger-ui.css, redoc.standalone.js
PAGES = Path(__file__).parent / "static" / "docs"


def serve_docs(app: FastAPI) -> None:
    """Public pages, like FastAPI's own: plain routes outside the API (they show the schema, no data)."""
    app.mount("/docs-assets", StaticFiles(directory=ASSETS), name="docs-assets")
    for path, page in (("/docs", "swagger.html"), ("/redoc", "redoc.html")):
        app.add_route(path, _page(PAGES / page), include_in_schema=False)


def _page(file: Path):
    async def serve(_request: Request) -> FileResponse:
        return FileResponse(file)

    return serve
