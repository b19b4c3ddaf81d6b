"""The stores a config selects, opened on first use; shared by the CLI and the API."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from facetrail.analytics.face_models import FaceModels, build_face_models
from facetrail.audit.anchor import default_anchor
from facetrail.audit.log import AuditLog
from facetrail.bus.select import open_bus
from facetrail.config import Config, load_config
from facetrail.storage.database import Database
from facetrail.storage.health_store import HealthStore
from facetrail.storage.select import open_object_store
from facetrail.storage.sighting_store import SightingStore
from facetrail.storage.track_store import TrackStore
from facetrail.storage.watchlist_store import WatchlistStore
from facetrail.tracks import CameraPlan
from facetrail.trajectory.service import Restitcher


@dataclass
class Stores:
    config: Config
    config_path: str = ""

    @classmethod
    def load(cls, config_path: str | Path) -> "Stores":
        return cls(load_config(config_path), str(config_path))

    @cached_property
    def db(self) -> Database:
        return Database(self.config.database.url)

    @cached_property
    def bus(self):
        return open_bus(self.config.bus)

    @cached_property
    def objects(self):
        return open_object_store(self.config.objects)

    @cached_property
    def audit(self) -> AuditLog:
        return AuditLog(self.db, default_anchor(self.db.url, self.config.audit.anchor))

    @cached_property
    def watchlist(self) -> WatchlistStore:
        return WatchlistStore(self.db)

    @cached_property
    def sightings(self) -> SightingStore:
        return SightingStore(self.db)

    @cached_property
    def tracks(self) -> TrackStore:
        return TrackStore(self.db)

    @cached_property
    def health(self) -> HealthStore:
        return HealthStore(self.db)

    @cached_property
    def face_models(self) -> FaceModels:
        """Detector and embedder, loaded on first use (a second or so): only commands that look at faces need them."""
        return build_face_models(self.config.analysis, self.config.models)

    @cached_property
    def restitcher(self) -> Restitcher:
        return Restitcher(self.sightings, self.tracks, CameraPlan.from_cameras(self.config.cameras), self.config.trajectory)
