"""A small real deployment (embedded bus, SQLite, local evidence) with forwarding, and a webhook receiver that
verifies Standard Webhooks signatures as an integrator's would."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from facetrail.events import Box, SightingEvent
from facetrail.forwarding.signing import verify
from facetrail.health import CameraHealth
from facetrail.runtime import trajectory_service
from facetrail.stores import Stores
from facetrail.config import load_config
from facetrail.watchlist import EntryRecord

SECRET = "whsec_" + "c2VjcmV0LWZvci10aGUtdGVzdC1yZWNlaXZlci0xMjM0NQ=="
OLD_SECRET = "an-older-secret-still-rotating-out"


@dataclass
class Receiver:
    """An HTTP endpoint that checks every signature, answers 500 until `failing_until`, then 200.

    It handles each message id once (the idempotency key): a repeat after a 200 is counted, not handled again."""

    secret: str
    failing_until: float = 0.0
    handled: dict[str, dict[str, Any]] = field(default_factory=dict)
    attempts: Counter[str] = field(default_factory=Counter)
    repeats: Counter[str] = field(default_factory=Counter)
    bad_signatures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: dict[str, float] = field(default_factory=dict)

    def fail_for(self, seconds: float) -> None:
        self.failing_until = time.monotonic() + seconds

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        if not verify(self.secret, headers, body):
            with self.lock:
                self.bad_signatures += 1
            return 401
        message_id = headers["webhook-id"]
        with self.lock:
            self.attempts[message_id] += 1
            if time.monotonic() < self.failing_until:
                return 500
            if message_id in self.handled:
                self.repeats[message_id] += 1
                return 200
            self.handled[message_id] = json.loads(body)
            self.arrived[message_id] = time.time()
            return 200

    def wait_for(self, count: int, timeout_s: float = 20.0) -> dict[str, dict[str, Any]]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.handled) >= count:
                    return dict(self.handled)
            time.sleep(0.05)
        return dict(self.handled)


def start_receiver(state: Receiver, port: int = 0) -> ThreadingHTTPServer:
    """The receiver's HTTP server on 127.0.0.1 (`port` 0: any free one), serving on a thread."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            status = state.answer({k.lower(): v for k, v in self.headers.items()}, body)
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    state = Receiver(SECRET)
    server = start_receiver(state)
    yield state, f"http://127.0.0.1:{server.server_address[1]}/hooks/facetrail"
    server.shutdown()
    server.server_close()


@dataclass
class Site:
    """One deployment's folder, config and stores, with helpers that make real alerts and decisions."""

    folder: Path
    stores: Stores
    t0: datetime = field(default_factory=lambda: datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=10))
    """Ten minutes ago, when the site was made: recent, as older events are not forwarded (forwarding.forward_within_s)."""

    def enrol(self, entry_id: str, name: str, watchlist: str = "default") -> None:
        record = EntryRecord(entry_id, name, watchlist, "case 29", "test photo", "tester", self.t0,
                             self.t0 + timedelta(days=900))
        self.stores.watchlist.add(record, np.ones((1, 128), np.float32), [None], model="dlib-resnet-v1")

    def match(self, entry_id: str, seconds: float = 0.0, camera_id: str = "gate") -> SightingEvent:
        """A sighting published by the analysis side, stored and alerted by the real trajectory service."""
        first = self.t0 + timedelta(seconds=seconds)
        event = SightingEvent.create(camera_id=camera_id, entry_id=entry_id, first_seen=first,
                                     last_seen=first + timedelta(seconds=2), score=0.71, box=Box(x=1, y=2, w=40, h=44),
                                     quality=0.8, evidence_key=f"evidence/{camera_id}/{entry_id}-{seconds}.jpg")
        self.stores.publisher.publish(event, b"\xff\xd8 a jpeg crop")
        service = trajectory_service(self.stores)
        service.drain(idle_s=0.05)
        service.close()
        return event

    def camera_state(self, state: str, at_s: float = 0.0) -> None:
        self.stores.publisher.report_health(CameraHealth(
            camera_id="gate", state=state, analysed_fps=5.0, reported_at=self.t0 + timedelta(seconds=at_s)))


def site_config(folder: Path, forwarding: dict[str, Any], **extra: Any) -> Path:
    config = {
        "site": "hq",
        "cameras": [{"id": "gate", "name": "Main gate", "source": "rtsp://127.0.0.1:1/gate", "position": {"x": 0, "y": 0}}],
        "bus": {"kind": "sqlite", "path": "bus.db"},
        "database": {"url": "sqlite:///facetrail.db"},
        "objects": {"kind": "local", "path": "evidence"},
        "forwarding": forwarding,
        **extra,
    }
    path = folder / "facetrail.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def webhook(url: str, **overrides: Any) -> dict[str, Any]:
    return {"name": "vms", "url": url, "secret_env": ["FT_TEST_WEBHOOK_SECRET"], "watchlists": ["default"],
            "events": ["candidate", "confirmed", "rejected", "camera_health"], "backoff_initial_s": 0.1,
            "backoff_max_s": 0.4, "timeout_s": 2.0, **overrides}


@pytest.fixture
def make_site(tmp_path, monkeypatch):
    monkeypatch.setenv("FT_TEST_WEBHOOK_SECRET", SECRET)
    made: list[Stores] = []

    def make(forwarding: dict[str, Any], **extra: Any) -> Site:
        path = site_config(tmp_path, forwarding, **extra)
        stores = Stores(load_config(path), str(path))
        made.append(stores)
        return Site(tmp_path, stores)

    yield make
    for stores in made:
        stores.db.dispose()
