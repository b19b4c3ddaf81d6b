"""A real pipeline to hold accountable: real photos walked past a camera, real stores.

Photos come from packages on PyPI (facetrail.demo.photos caches them; without
network, tests that need them skip, saying so). Frames are a noise background
with a face photo pasted on, moving as a person walking past.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import cv2
import numpy as np
import pytest

from facetrail.analytics.detector import HogDetector
from facetrail.analytics.dlib_embedder import DlibEmbedder
from facetrail.analytics.pipeline import CameraAnalyser
from facetrail.audit.log import AuditLog
from facetrail.bus.channels import SIGHTINGS_TOPIC
from facetrail.bus.sqlite_bus import SqliteBus
from facetrail.config import AnalysisConfig, Config, load_config
from facetrail.demo.photos import PhotoError, fetch_photo
from facetrail.accountability.enrolment import EnrolmentRequest, enrol
from facetrail.ingest.frames import Frame
from facetrail.matching import load_matcher
from facetrail.publisher import SightingPublisher
from facetrail.storage.database import Database
from facetrail.storage.objects import LocalObjectStore
from facetrail.storage.sighting_store import SightingStore
from facetrail.storage.track_store import TrackStore
from facetrail.storage.watchlist_store import WatchlistStore
from facetrail.trajectory.service import TrajectoryService

CAMERA = "gate-1"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="session")
def photo_path():
    def fetch(name: str) -> Path:
        try:
            return fetch_photo(name)
        except PhotoError as exc:
            pytest.skip(f"test photo {name} unavailable (it comes from PyPI, offline?): {exc}")

    return fetch


@pytest.fixture(scope="session")
def detector() -> HogDetector:
    return HogDetector(detect_width=640, min_face_px=40)


@pytest.fixture(scope="session")
def embedder() -> DlibEmbedder:
    return DlibEmbedder()


@pytest.fixture(scope="session")
def head_patch(photo_path, detector):
    """Head and shoulders of a photo's main face, scaled so the face is ~140 px wide."""

    def patch(name: str) -> np.ndarray:
        image = cv2.imread(str(photo_path(name)))
        face = max(detector.detect(image), key=lambda d: d.w)
        pad = int(face.w * 0.6)
        crop = image[max(0, face.y - pad): face.y + face.h + pad, max(0, face.x - pad): face.x + face.w + pad]
        return cv2.resize(crop, None, fx=140 / face.w, fy=140 / face.w, interpolation=cv2.INTER_AREA)

    return patch


def walk(patch: np.ndarray, start: datetime, steps: int = 6, first_index: int = 0) -> list[Frame]:
    """Frames at 5 fps of one person walking left to right past a 1280x720 camera."""
    rng = np.random.default_rng(7)
    background = cv2.resize(rng.integers(60, 190, (90, 160, 3), np.uint8), (1280, 720), interpolation=cv2.INTER_CUBIC)
    frames = []
    for i in range(steps):
        image = background.copy()
        x, y = 200 + 40 * i, 150
        image[y: y + patch.shape[0], x: x + patch.shape[1]] = patch
        frames.append(Frame.of_bgr(CAMERA, first_index + i, start + timedelta(seconds=0.2 * i), image))
    return frames


@dataclass
class Site:
    """One deployment's stores, as `facetrail run` opens them, in a temporary folder."""

    root: Path
    config_path: Path
    config: Config
    db: Database
    objects: LocalObjectStore
    bus: SqliteBus
    audit: AuditLog

    @property
    def watchlist(self) -> WatchlistStore:
        return WatchlistStore(self.db)

    def enrol(self, photo: Path, name: str, *, threshold: float | None = None, days: int = 30, detector, embedder):
        request = EnrolmentRequest(display_name=name, photos=(photo,), legal_basis="case 2026/17", image_source="PyPI test photo",
                                   enrolled_by="tester", expires_at=datetime.now(timezone.utc) + timedelta(days=days),
                                   threshold=threshold)
        return enrol(request, detector, embedder, self.watchlist, self.objects).record

    def analyse(self, frames: list[Frame], detector, embedder) -> CameraAnalyser:
        """Frames through a real analyser and the worker's publisher, then the trajectory service."""
        matcher = load_matcher(self.watchlist, embedder.space, self.config.analysis.matching).matcher
        analyser = CameraAnalyser(CAMERA, AnalysisConfig(), detector, embedder, matcher, self.watchlist.version())
        publisher = SightingPublisher(self.bus, self.objects)
        for matched in [p for frame in frames for p in analyser.process(frame)] + analyser.finish():
            publisher.publish(matched.event, matched.crop_jpeg)
        publisher.flush()
        TrajectoryService(self.bus, self.bus.consumer(SIGHTINGS_TOPIC, "test"), SightingStore(self.db), TrackStore(self.db),
                          {CAMERA: (0.0, 0.0)}, self.config.trajectory).drain(idle_s=0.1)
        return analyser


# The fixtures analyse with HOG + dlib, so the CLI must enrol with dlib too,
# whatever models FACETRAIL_MODEL_DIR makes available.
SITE_CONFIG = """
database: {url: "sqlite:///facetrail.db"}
bus: {kind: sqlite, path: bus.db}
objects: {kind: local, path: objects}
cameras: [{id: gate-1, name: Gate, source: gate.mp4, position: {x: 0, y: 0}}]
analysis: {detector: {backend: hog}, embedder: {backend: dlib}}
"""


@pytest.fixture
def site(tmp_path) -> Site:
    config_path = tmp_path / "facetrail.yaml"
    config_path.write_text(SITE_CONFIG)
    config = load_config(config_path)
    db = Database(config.database.url)
    site = Site(tmp_path, config_path, config, db, LocalObjectStore(config.objects.path), SqliteBus(config.bus.path), AuditLog(db))
    yield site
    site.bus.close()
    db.dispose()


@pytest.fixture
def people(tmp_path, photo_path):
    """FOLDER/<Display Name>/<photos>, as the import command expects."""
    root = tmp_path / "people"

    def add(name: str, image: np.ndarray | None = None, source: str | None = None):
        folder = root / name
        folder.mkdir(parents=True)
        if source:
            shutil.copy(photo_path(source), folder / source)
        else:
            cv2.imwrite(str(folder / "photo.jpg"), image)
        return root

    return add
