"""What every route shares: the config, the stores, the audit log, the review desk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property

from fastapi import Request

from facetrail.api.photo_shelf import PhotoShelf
from facetrail.auth.accounts import Accounts
from facetrail.auth.throttle import LoginThrottle, ThrottleLimits
from facetrail.config import CameraConfig
from facetrail.storage.user_store import UserStore
from facetrail.stores import Stores
from facetrail.watchlist import EntryRecord


@dataclass
class ApiContext(Stores):
    token_ttl: timedelta = timedelta(hours=8)

    @cached_property
    def accounts(self) -> Accounts:
        return Accounts(UserStore(self.db), self.token_ttl)

    @cached_property
    def login_throttle(self) -> LoginThrottle:
        login = self.config.api.login
        return LoginThrottle(self.db, ThrottleLimits(login.failures_per_account, login.failures_per_client,
                                                     login.window_minutes * 60, login.lockout_minutes * 60))

    @cached_property
    def review(self):
        from facetrail.review import ReviewDesk

        review = getattr(self.config, "review", None)
        options = {} if review is None else {
            "reviewers_required": review.reviewers_required, "rejected_examples": review.keep_rejected_examples}
        return ReviewDesk(self.db, self.audit, objects=self.objects, face_models=lambda: self.face_models, **options)

    @cached_property
    def photo_shelf(self) -> PhotoShelf:
        return PhotoShelf()

    @cached_property
    def cameras(self) -> dict[str, CameraConfig]:
        return {camera.id: camera for camera in self.config.cameras}

    def visible_lists(self, role: str) -> list[str] | None:
        """Names of the watch-lists this role may see, or None for all of them (admins; no lists configured)."""
        lists = self.config.watchlist.lists
        if role == "admin" or not lists:
            return None
        return [name for name in lists if self.config.watchlist.allows(name, role)]

    def visible_entries(self, role: str) -> dict[str, EntryRecord]:
        """Entries of the watch-lists this role may see (config.watchlist.lists), by id."""
        allows = getattr(self.config.watchlist, "allows", None)
        return {r.entry_id: r for r in self.watchlist.records() if allows is None or allows(r.watchlist, role)}


def api_context(request: Request) -> ApiContext:
    return request.app.state.ctx
