"""From what the bus carries to what each target may receive.

An alert becomes a ``sighting.candidate``, a settled review a ``sighting.confirmed`` or ``.rejected``, and a
camera's health report a ``camera.health`` when the camera's stream state changed. A sighting goes to a target
only when the target names the entry's watch-list and its role may see that list; an entry erased meanwhile
is forwarded to nobody, and neither is an event older than ``forwarding.forward_within_s`` (the bus's history read
by a new consumer group, matches in reprocessed old footage).
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Literal

from facetrail.alerts import Alert, Decision
from facetrail.config import Config, ForwardingTargetConfig
from facetrail.events import SightingEvent
from facetrail.forwarding.payloads import (CameraHealthData, CameraHealthMessage, SightingData, SightingMessage,
                                           SightingType)
from facetrail.health import CameraHealth
from facetrail.storage.objects import ObjectStore
from facetrail.storage.review_store import ReviewStore
from facetrail.storage.sighting_store import SightingStore
from facetrail.storage.watchlist_store import WatchlistStore
from facetrail.watchlist import EntryRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Composed:
    """One event, before each target's rules are applied to it."""

    kind: str  # candidate | confirmed | rejected | camera_health
    message_id: str
    event_id: str
    entry_id: str | None
    watchlist: str | None
    message: SightingMessage | CameraHealthMessage

    def for_target(self, rules: ForwardingTargetConfig, config: Config,
                   crop: Callable[[], str | None]) -> SightingMessage | CameraHealthMessage | None:
        """What this target receives, or None when its rules keep the event from it."""
        if self.kind not in rules.events:
            return None
        if not isinstance(self.message, SightingMessage):
            return self.message
        assert self.watchlist is not None
        if self.watchlist not in rules.watchlists or not config.watchlist.allows(self.watchlist, rules.role):
            return None
        data = self.message.data.model_copy(update={
            "display_name": self.message.data.display_name if rules.display_names else None,
            "crop_jpeg_base64": crop() if rules.include_crop else None})
        return self.message.model_copy(update={"data": data})


class Composer:
    def __init__(self, config: Config, watchlist: WatchlistStore, sightings: SightingStore, reviews: ReviewStore,
                 objects: ObjectStore):
        self._config, self._watchlist, self._sightings, self._reviews = config, watchlist, sightings, reviews
        self._objects = objects
        self._camera_names = {camera.id: camera.name for camera in config.cameras}
        self._camera_states: dict[str, str] = {}
        self._max_age = timedelta(seconds=config.forwarding.forward_within_s)
        self.stale = 0

    def _too_old(self, at: datetime) -> bool:
        if datetime.now(timezone.utc) - at <= self._max_age:
            return False
        self.stale += 1
        return True

    def alert(self, alert: Alert) -> Composed | None:
        if self._too_old(alert.sighting.last_seen):
            return None
        entry = self._watchlist.get(alert.sighting.entry_id)
        if entry is None:
            return None  # erased since
        stored = self._sightings.get(alert.sighting.event_id)
        status = stored.status if stored else "candidate"
        return self._sighting("sighting.candidate", alert.sighting, entry, status, alert.track_id,
                              datetime.now(timezone.utc))

    def decision(self, decision: Decision) -> Composed | None:
        if self._too_old(decision.decided_at):
            return None
        entry, stored = self._watchlist.get(decision.entry_id), self._sightings.get(decision.event_id)
        if entry is None or stored is None:
            return None  # erased, or purged by retention, since
        kind: SightingType = "sighting.confirmed" if decision.status == "confirmed" else "sighting.rejected"
        return self._sighting(kind, stored.event, entry, decision.status, None, decision.decided_at)

    def health(self, report: CameraHealth) -> Composed | None:
        """A report whose state differs from the camera's last one (the first one seen counts as a change)."""
        previous = self._camera_states.get(report.camera_id)
        if previous == report.state or self._too_old(report.reported_at):
            return None
        self._camera_states[report.camera_id] = report.state
        stamp = int(report.reported_at.timestamp() * 1000)
        message_id = f"camera_health-{report.camera_id}-{report.state}-{stamp}"
        data = CameraHealthData(camera_id=report.camera_id, camera_name=self._camera_names.get(report.camera_id),
                                state=report.state, previous_state=previous, analysed_fps=report.analysed_fps,
                                last_frame_at=report.last_frame_at, reconnects=report.reconnects, lag_s=report.lag_s)
        message = CameraHealthMessage(id=message_id, site=self._config.site, timestamp=report.reported_at, data=data)
        return Composed("camera_health", message_id, message_id, None, None, message)

    def crop(self, composed: Composed) -> Callable[[], str | None]:
        """The evidence crop in base64, read once and only for a target that opted in."""
        cache: list[str | None] = []

        def read() -> str | None:
            if not cache:
                cache.append(self._read_crop(composed))
            return cache[0]

        return read

    def _read_crop(self, composed: Composed) -> str | None:
        stored = self._sightings.get(composed.event_id)
        key = stored.event.evidence_key if stored else None
        if key is None:
            return None
        try:
            return base64.b64encode(self._objects.get(key)).decode()
        except KeyError:
            return None

    def _sighting(self, kind: SightingType, event: SightingEvent, entry: EntryRecord, status: str,
                  track_id: str | None, at: datetime) -> Composed:
        review_state: Literal["candidate", "confirmed", "rejected"] = (
            "confirmed" if status == "confirmed" else "rejected" if status == "rejected" else "candidate")
        confirmations = self._reviews.confirmations_of([event.event_id]).get(event.event_id, 0)
        console = self._config.forwarding.console_url
        evidence_url = (f"{console.rstrip('/')}/api/v1/sightings/{event.event_id}/evidence"
                        if console and event.evidence_key else None)
        data = SightingData(event_id=event.event_id, entry_id=entry.entry_id, watchlist=entry.watchlist,
                            display_name=entry.display_name, camera_id=event.camera_id,
                            camera_name=self._camera_names.get(event.camera_id), first_seen=event.first_seen,
                            last_seen=event.last_seen, score=event.score, review_state=review_state,
                            confirmations=confirmations, required=self._config.review.reviewers_required,
                            track_id=track_id, evidence_url=evidence_url, crop_jpeg_base64=None)
        short = kind.removeprefix("sighting.")
        message_id = f"{short}-{event.event_id}"
        message = SightingMessage(type=kind, id=message_id, site=self._config.site, timestamp=at, data=data)
        return Composed(short, message_id, event.event_id, entry.entry_id, entry.watchlist, message)
