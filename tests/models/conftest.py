"""A publisher on 127.0.0.1 for the fetch tests: serves files with HTTP Range, and can misbehave on request."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Publisher:
    files: dict[str, bytes] = field(default_factory=dict)
    cut_after: dict[str, list[int]] = field(default_factory=dict)
    """Path -> byte counts after which successive responses break off (one entry used per request)."""
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    """(path, Range header) of every request."""
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"


def _handler(publisher: Publisher):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_):  # keep test output clean
            pass

        def do_GET(self):
            publisher.requests.append((self.path, self.headers.get("Range")))
            body = publisher.files.get(self.path)
            if body is None:
                self.send_error(404, "not here")
                return
            start = 0
            if (wanted := self.headers.get("Range")) and wanted.startswith("bytes="):
                start = int(wanted.removeprefix("bytes=").split("-")[0])
            part = body[start:]
            self.send_response(206 if start else 200)
            self.send_header("Content-Length", str(len(part)))
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            self.end_headers()
            cuts = publisher.cut_after.get(self.path)
            if cuts:
                self.wfile.write(part[: cuts.pop(0)])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(part)

    return Handler


@pytest.fixture
def publisher():
    served = Publisher()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(served))
    served.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served
    server.shutdown()
    server.server_close()
