"""A small real deployment for API tests: config file, SQLite database and bus, local evidence store.

Sightings go through the real path: published on the SQLite bus, stored and
stitched by the TrajectoryService, announced on the alerts topic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import cv2
import numpy as np

from facetrail.auth.accounts import Accounts
from facetrail.bus.channels import SIGHTINGS_TOPIC
from facetrail.bus.sqlite_bus import SqliteBus
from facetrail.config import Config, load_config
from facetrail.events import Box, SightingEvent
from facetrail.storage.database import Database
from facetrail.storage.objects import LocalObjectStore, enrolment_key, evidence_key
from facetrail.storage.sighting_store import SightingStore
from facetrail.storage.track_store import TrackStore
from facetrail.storage.user_store import UserStore
from facetrail.storage.watchlist_store import WatchlistStore
from facetrail.tracks import CameraPlan
from facetrail.trajectory.service import TrajectoryService
from facetrail.watchlist import EntryRecord

PASSWORD = "correct horse battery staple"
ROLES = ("operator", "enroller", "auditor", "admin")
CONFIG = """
site: test-site
cameras:
  - {id: gate, name: Main gate, source: gate.mp4, position: {x: 0, y: 0}}
  - {id: lobby, name: Lobby, source: lobby.mp4, position: {x: 40, y: 10}}
  - {id: yard, name: Yard, source: yard.mp4, position: {x: 80, y: 40}}
trajectory: {new_track_gap_s: 1800, max_speed_mps: 12}
bus: {kind: sqlite, path: bus.db}
objects: {kind: local, path: evidence}
database: {url: "sqlite:///facetrail.db"}
"""


def jpeg(seed: int, size: int = 96) -> bytes:
    """A real JPEG (a coloured gradient) standing for a crop or a photo."""
    ramp = np.linspace(0, 255, size, dtype=np.uint8)
    image = np.dstack([np.tile(ramp, (size, 1)), np.full((size, size), (seed * 53) % 256, np.uint8), np.tile(ramp[:, None], (1, size))])
    return cv2.imencode(".jpg", image)[1].tobytes()


@dataclass
class World:
    root: Path
    config_path: Path
    config: Config
    db: Database
    bus: SqliteBus
    objects: LocalObjectStore

    @classmethod
    def create(cls, root: Path, extra_config: str = "") -> "World":
        config_path = root / "facetrail.yaml"
        config_path.write_text(CONFIG + extra_config)
        config = load_config(config_path)
        return cls(root, config_path, config, Database(config.database.url), SqliteBus(config.bus.path),
                   LocalObjectStore(config.objects.path))

    def enrol(self, entry_id: str, name: str, watchlist: str = "default") -> EntryRecord:
        now = datetime.now(timezone.utc)
        record = EntryRecord(entry_id, name, watchlist, "case 2026/17", "test photos", "tester", now, now + timedelta(days=30))
        key = enrolment_key(entry_id, 0)
        self.objects.put(key, jpeg(len(entry_id)))
        WatchlistStore(self.db).add(record, np.ones((1, 128), np.float32), [key], model="dlib-resnet-v1")
        return record

    def publish(self, camera_id: str, entry_id: str, at: datetime, score: float = 0.8, crop: bool = True) -> SightingEvent:
        key = evidence_key(camera_id, at, "pending")
        event = SightingEvent.create(camera_id=camera_id, entry_id=entry_id, first_seen=at, last_seen=at + timedelta(seconds=4),
                                     score=score, box=Box(x=10, y=10, w=80, h=80), quality=0.8)
        if crop:
            key = evidence_key(camera_id, at, event.event_id)
            self.objects.put(key, jpeg(at.second))
            event = event.model_copy(update={"evidence_key": key})
        self.bus.publish(SIGHTINGS_TOPIC, entry_id, event.to_json())
        return event

    def stitch(self):
        service = TrajectoryService(self.bus, self.bus.consumer(SIGHTINGS_TOPIC, "facetrail-trajectory"), SightingStore(self.db),
                                    TrackStore(self.db), CameraPlan.from_cameras(self.config.cameras), self.config.trajectory)
        return service.drain(idle_s=0.05)

    def add_user(self, username: str, role: str, password: str = PASSWORD) -> None:
        Accounts(UserStore(self.db)).create_user(username, role, password)

    def close(self) -> None:
        self.bus.close()
        self.db.dispose()


def populated_world(root: Path, t0: datetime, extra_config: str = "") -> World:
    """Two people enrolled; Ada walks gate -> lobby -> yard from t0, Bob passes the lobby; one user per role."""
    world = World.create(root, extra_config)
    world.enrol("ada", "Ada Lovelace")
    world.enrol("bob", "Bob Byrne")
    for camera, offset_s in (("gate", 0), ("lobby", 60), ("yard", 150)):
        world.publish(camera, "ada", t0 + timedelta(seconds=offset_s))
    world.publish("lobby", "bob", t0 + timedelta(seconds=30), crop=False)
    world.stitch()
    for role in ROLES:
        world.add_user(f"{role}1", role)
    return world
