"""What every route shares: the config, the stores, the audit log, the review desk."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from fastapi import Request

from facetrail.audit.log import AuditLog
from facetrail.auth.accounts import Accounts
from facetrail.config import CameraConfig, Config
from facetrail.storage.database import Database
from facetrail.storage.health_store import HealthStore
from facetrail.storage.objects import ObjectStore
from facetrail.storage.sighting_store import SightingStore
from facetrail.storage.track_store import TrackStore
from facetrail.storage.watchlist_store import WatchlistStore
from facetrail.watchlist import EntryRecord


@dataclass
class ApiContext:
    config: Config
    db: Database
    objects: ObjectStore
    accounts: Accounts
    bus: object | None = None  # an EventBus; erasure removes a person's messages from an embedded one

    @cached_property
    def audit(self) -> AuditLog:
        return AuditLog(self.db)

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
    def review(self):
        from facetrail.review import ReviewDesk

        review = getattr(self.config, "review", None)
        options = {} if review is None else {
            "reviewers_required": review.reviewers_required, "rejected_examples": review.keep_rejected_examples}
        return ReviewDesk(self.db, self.audit, objects=self.objects, **options)

    @cached_property
    def cameras(self) -> dict[str, CameraConfig]:
        return {camera.id: camera for camera in self.config.cameras}

    def visible_entries(self, role: str) -> dict[str, EntryRecord]:
        """Entries of the watch-lists this role may see (config.watchlist.lists), by id."""
        allows = getattr(self.config.watchlist, "allows", None)
        return {r.entry_id: r for r in self.watchlist.records() if allows is None or allows(r.watchlist, role)}


def api_context(request: Request) -> ApiContext:
    return request.app.state.ctx
