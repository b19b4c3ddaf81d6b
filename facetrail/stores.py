"""The composition root: every object a process needs, built from the config in one place, each on first use.

One process holds one ``Stores``: one database connection pool, one bus client, one object store, whatever
commands, the API, the runtime and the analysis workers ask of it. The schema is brought up to date once,
explicitly: by the process that loads the config (``Stores.load``); processes it starts (analysis workers)
open the database without migrating it (``migrate_schema=False``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from facetrail.analytics.face_models import FaceModels, build_face_models
from facetrail.audit.anchor import default_anchor
from facetrail.audit.log import AuditLog
from facetrail.auth.accounts import DEFAULT_TOKEN_TTL, Accounts
from facetrail.auth.throttle import LoginThrottle, ThrottleLimits
from facetrail.bus.base import EventBus
from facetrail.bus.select import open_bus
from facetrail.config import Config, load_config
from facetrail.publisher import SightingPublisher
from facetrail.storage.database import Database
from facetrail.storage.forwarding_store import ForwardingQueue
from facetrail.storage.health_store import HealthStore
from facetrail.storage.job_store import JobStore
from facetrail.storage.objects import ObjectStore
from facetrail.storage.progress_store import ProgressLedger
from facetrail.storage.select import open_object_store
from facetrail.storage.sighting_store import SightingStore
from facetrail.storage.track_store import TrackStore
from facetrail.storage.user_store import UserStore
from facetrail.storage.watchlist_store import WatchlistStore
from facetrail.tracks import CameraPlan
from facetrail.trajectory.service import Restitcher

if TYPE_CHECKING:
    from facetrail.accountability.review import ReviewDesk
    from facetrail.archive.work import ArchiveWorker
    from facetrail.forwarding.service import Forwarding


DATABASE_PATIENCE_S = 300.0


@dataclass
class Stores:
    config: Config
    config_path: str = ""
    migrate_schema: bool = True
    token_ttl: timedelta = DEFAULT_TOKEN_TTL  # how long an API login lasts

    @classmethod
    def load(cls, config_path: str | Path) -> "Stores":
        return cls(load_config(config_path), str(config_path))

    @cached_property
    def db(self) -> Database:
        return Database(self.config.database.url, migrate=self.migrate_schema)

    @cached_property
    def bus(self) -> EventBus:
        return open_bus(self.config.bus)

    @cached_property
    def objects(self) -> ObjectStore:
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
    def progress(self) -> ProgressLedger:
        # A checkpoint waits out a database outage of up to five minutes (a restart, a fail-over) rather than
        # failing a long reprocess; the run resumes from the last checkpoint if it lasts longer.
        return ProgressLedger(self.db, patience_s=DATABASE_PATIENCE_S)

    @cached_property
    def jobs(self) -> JobStore:
        return JobStore(self.db)

    def archive_worker(self) -> "ArchiveWorker":
        """A worker for archive jobs' segments, on this process's stores (face models load on its first segment)."""
        from facetrail.archive.work import ArchiveWorker
        from facetrail.matching import load_matcher

        matching = self.config.analysis.matching
        return ArchiveWorker(self.config, self.jobs, lambda: self.face_models,
                             lambda models: load_matcher(self.watchlist, models.embedder.space, matching),
                             self.publisher, self.audit)

    @cached_property
    def publisher(self) -> SightingPublisher:
        return SightingPublisher(self.bus, self.objects)

    @cached_property
    def camera_plan(self) -> CameraPlan:
        return CameraPlan.from_cameras(self.config.cameras)

    @cached_property
    def face_models(self) -> FaceModels:
        """Detector and embedder, loaded on first use (a second or so): only commands that look at faces need them."""
        return build_face_models(self.config.analysis, self.config.models)

    @cached_property
    def restitcher(self) -> Restitcher:
        return Restitcher(self.sightings, self.tracks, self.camera_plan, self.config.trajectory)

    @cached_property
    def review(self) -> "ReviewDesk":
        from facetrail.accountability.review import ReviewDesk  # OpenCV and the models load only where reviews are taken

        review = self.config.review
        return ReviewDesk(self.db, self.audit, review.reviewers_required, review.keep_rejected_examples,
                          objects=self.objects, face_models=lambda: self.face_models, bus=self.bus)

    @cached_property
    def accounts(self) -> Accounts:
        return Accounts(UserStore(self.db), self.token_ttl)

    @cached_property
    def login_throttle(self) -> LoginThrottle:
        login = self.config.api.login
        return LoginThrottle(self.db, ThrottleLimits(login.failures_per_account, login.failures_per_client,
                                                     login.window_minutes * 60, login.lockout_minutes * 60))

    @cached_property
    def forwarding_queue(self) -> ForwardingQueue:
        return ForwardingQueue(self.db)

    def forwarding(self) -> "Forwarding | None":
        """The forwarding stage, not started; None when the config names no target (nothing is forwarded by default)."""
        if not self.config.forwarding.enabled:
            return None
        from facetrail.forwarding.compose import Composer  # paho and httpx load only where something is forwarded
        from facetrail.forwarding.service import Forwarding
        from facetrail.storage.review_store import ReviewStore

        composer = Composer(self.config, self.watchlist, self.sightings, ReviewStore(self.db), self.objects)
        return Forwarding(self.config, self.bus, composer, self.forwarding_queue, self.audit)
