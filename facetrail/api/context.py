"""What every route shares: the composition root (facetrail.stores) and what each role may see of it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from fastapi import Request

from facetrail.api.images import DecodeBudget
from facetrail.api.photo_shelf import PhotoShelf
from facetrail.api.refusals import RefusalTally
from facetrail.auth.roles import sees_everything
from facetrail.config import CameraConfig
from facetrail.stores import Stores
from facetrail.watchlist import EntryRecord


@dataclass
class ApiContext(Stores):
    @cached_property
    def photo_shelf(self) -> PhotoShelf:
        return PhotoShelf()

    @cached_property
    def decode_budget(self) -> DecodeBudget:
        return DecodeBudget.sized_from_memory(self.config.api.max_image_pixels)

    @cached_property
    def refusals(self) -> RefusalTally:
        return RefusalTally(self.audit)

    @cached_property
    def cameras(self) -> dict[str, CameraConfig]:
        return {camera.id: camera for camera in self.config.cameras}

    def visible_lists(self, role: str) -> list[str] | None:
        """Names of the watch-lists this role may see, or None for all of them (admins; no lists configured)."""
        lists = self.config.watchlist.lists
        if sees_everything(role) or not lists:
            return None
        return [name for name in lists if self.config.watchlist.allows(name, role)]

    def visible_entries(self, role: str) -> dict[str, EntryRecord]:
        """Entries of the watch-lists this role may see (config.watchlist.lists), by id."""
        return {r.entry_id: r for r in self.watchlist.records() if self.config.watchlist.allows(r.watchlist, role)}


def api_context(request: Request) -> ApiContext:
    return request.app.state.ctx
