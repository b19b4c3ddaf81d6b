"""Every response: bodies bounded before they are read, personal data never cached, security headers on refusals too."""

from __future__ import annotations

import socket
import time

import pytest

from facetrail.api.app import create_app

from .server import serving

LIMIT = 32_768


@pytest.fixture(scope="module")
def server(module_world):
    with serving(create_app(module_world.config, live_alerts=False)) as base:
        yield base.rsplit(":", 1)[1]


def _exchange(port: str, head: bytes, chunks=()) -> tuple[bytes, int]:
    """Send a request head and then body chunks until the server answers; returns the answer and the chunks it took."""
    with socket.create_connection(("127.0.0.1", int(port)), timeout=10) as sock:
        sock.sendall(head)
        sent = 0
        for chunk in chunks:
            try:
                sock.sendall(chunk)
            except OSError:
                break
            sent += 1
            sock.settimeout(0.01)
            try:
                answer = sock.recv(65536)
                if answer:
                    return answer, sent
            except (socket.timeout, BlockingIOError):
                pass
            sock.settimeout(10)
        sock.settimeout(10)
        return sock.recv(65536), sent


def test_a_huge_declared_body_is_refused_with_413_before_a_byte_of_it_is_read(server):
    head = (b"POST /api/v1/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100000000\r\n\r\n")
    started = time.monotonic()
    answer, _ = _exchange(server, head)
    assert answer.startswith(b"HTTP/1.1 413") and b"larger than 32768 bytes" in answer
    assert b"content-security-policy" in answer.lower()
    assert time.monotonic() - started < 5


def test_a_chunked_body_is_cut_off_with_413_once_it_passes_the_limit(server):
    head = (b"POST /api/v1/sightings/" + b"0" * 32 + b"/decision HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"4000\r\n" + b" " * 0x4000 + b"\r\n"  # 16 KiB of JSON whitespace per chunk
    answer, sent = _exchange(server, head, [chunk] * 6400)  # 100 MB if nobody stopped it
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 100


def test_a_body_within_the_limit_is_served(module_client):
    response = module_client.post("/api/v1/login", json={"username": "nobody", "password": "x" * 900})
    assert response.status_code == 401


def test_the_limit_is_configurable(tmp_path):
    from fastapi.testclient import TestClient

    from .world import World

    world = World.create(tmp_path, "api: {max_body_bytes: 2048}\n")
    with TestClient(create_app(world.config, live_alerts=False)) as client:
        response = client.post("/api/v1/login", json={"username": "nobody", "password": "x" * 1000 + "y" * 1500})
    world.close()
    assert response.status_code == 413 and "2048 bytes" in response.json()["detail"]


@pytest.mark.parametrize("path", ["/api/v1/tracks", "/api/v1/sightings", "/api/v1/alerts", "/api/v1/cameras",
                                  "/api/v1/people", "/api/v1/me", "/metrics"])
def test_json_about_people_is_never_stored_by_a_browser_or_proxy(module_client, module_roles, path):
    response = module_client.get(path, headers=module_roles["admin"])
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"


def test_a_refusal_is_never_cached_either(module_client):
    assert module_client.get("/api/v1/tracks").headers["Cache-Control"] == "no-store"
