"""A real uvicorn server for the app on a free loopback port: in a thread (for streaming tests), or as `facetrail api`."""

from __future__ import annotations

import json
import queue
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving(app):
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def facetrail_api(config_path: Path):
    """`facetrail api` itself, as deployed (uvicorn configured by the command, not by the test); yields its base URL."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "facetrail.cli.main", "api", "-c", str(config_path), "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"the API did not start: {process.stdout.read().decode()[-2000:]}")
            time.sleep(0.2)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _read_stream(base: str, token: str, kind: str, received: queue.Queue, ready: threading.Event) -> None:
    with httpx.stream("GET", f"{base}/api/v1/alerts/stream", headers={"Authorization": f"Bearer {token}"}, timeout=10) as response:
        event = None
        for line in response.iter_lines():
            if line.startswith(": connected"):
                ready.set()
            elif line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: ") and event == kind:
                received.put((time.monotonic(), json.loads(line.removeprefix("data: "))))
                return


def first_live(base: str, token: str, kind: str) -> queue.Queue:
    """Reads the live stream as a console does, once it is connected; the queue gets (arrival time, payload) of the
    first `kind` event ('alert' or 'decision')."""
    received: queue.Queue = queue.Queue()
    ready = threading.Event()
    threading.Thread(target=_read_stream, args=(base, token, kind, received, ready), daemon=True).start()
    assert ready.wait(10), "the live stream did not connect"
    return received
