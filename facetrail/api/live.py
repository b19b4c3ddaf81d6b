"""Live alerts: a thread follows the ALERTS channel on the bus and fans each alert out to connected browsers.

The consumer group is new at every start and skips what is already on the
topic before serving, so history is never replayed as live (the alert queue
route serves it). Positions are never committed: the group is throwaway.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field

from pydantic import ValidationError

from facetrail.api import schemas
from facetrail.api.context import ApiContext
from facetrail.api import views
from facetrail.auth.roles import ROLES, role_allows
from facetrail.bus.base import Consumer
from facetrail.bus.channels import ALERTS

log = logging.getLogger(__name__)
QUEUE_DEPTH = 200
DEDUP_WINDOW = 50_000  # event ids remembered to drop repeated alerts (a few MB)
_JOIN_S = 1.0


@dataclass(eq=False)
class Subscriber:
    role: str
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(QUEUE_DEPTH))


class AlertFanout:
    """Subscribers live on the event loop; the bus thread hands alerts over with call_soon_threadsafe."""

    def __init__(self) -> None:
        self._subscribers: set[Subscriber] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.delivered = 0
        self.dropped = 0

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def subscribe(self, role: str) -> Subscriber:
        self._loop = asyncio.get_running_loop()  # subscribers are made on the event loop their queues belong to
        subscriber = Subscriber(role)
        self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    def publish_threadsafe(self, message: schemas.Alert | schemas.DecisionEvent, roles_allowed: frozenset[str]) -> None:
        """From a route's worker thread: a reviewer's decision, handed to the loop (nobody subscribed: nothing to do)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.publish, message, roles_allowed)

    def publish(self, alert: schemas.Alert | schemas.DecisionEvent, roles_allowed: frozenset[str]) -> None:
        for subscriber in list(self._subscribers):
            if not role_allows(subscriber.role, tuple(roles_allowed)):
                continue
            try:
                subscriber.queue.put_nowait(alert)
                self.delivered += 1
            except asyncio.QueueFull:
                self.dropped += 1  # a stalled browser misses live alerts; the queue route still has them


def server_sent(message: schemas.Alert | schemas.DecisionEvent) -> str:
    """One message of the live stream: `alert` for a new sighting, `decision` when someone decided one."""
    kind = "decision" if isinstance(message, schemas.DecisionEvent) else "alert"
    return f"event: {kind}\nid: {message.sighting.event_id}\ndata: {message.model_dump_json()}\n\n"


def _skip_history(consumer: Consumer) -> int:
    # The first poll waits: a new group member is handed its partitions only after joining, and a 0 s poll
    # does not wait for that (so the history would come later, as if live).
    skipped = len(batch := consumer.poll(_JOIN_S, 5000))
    while batch:
        batch = consumer.poll(0.0, 5000)
        skipped += len(batch)
    return skipped


class SeenEvents:
    """The event ids of the alerts forwarded lately: alerts are published at least once (the trajectory
    service's outbox sends again what it cannot show was delivered), so a repeat is dropped here."""

    def __init__(self, capacity: int = DEDUP_WINDOW):
        self._capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def first_time(self, event_id: str) -> bool:
        if event_id in self._ids:
            self._ids.move_to_end(event_id)
            return False
        self._ids[event_id] = None
        if len(self._ids) > self._capacity:
            self._ids.popitem(last=False)
        return True


class AlertFeed:
    def __init__(self, ctx: ApiContext, fanout: AlertFanout, loop: asyncio.AbstractEventLoop):
        self._ctx, self._fanout, self._loop = ctx, fanout, loop
        self._stop = threading.Event()
        self._consumer: Consumer = ALERTS.consumer(ctx.bus, f"facetrail-api-{uuid.uuid4().hex[:12]}")
        self.skipped = _skip_history(self._consumer)
        self.received = 0
        self.repeated = 0
        self._seen = SeenEvents()
        self._thread = threading.Thread(target=self._run, name="alert-feed", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._consumer.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                for record in self._consumer.poll(0.2, 100):
                    self._forward(record.value)
            except Exception:  # the feed must outlive one bad poll; the next poll retries
                log.exception("alert feed poll failed")
                self._stop.wait(1.0)

    def _forward(self, raw: bytes) -> None:
        try:
            alert = ALERTS.decode(raw)
        except ValidationError:
            log.warning("ignored a malformed alert on %s", ALERTS.name)
            return
        self.received += 1
        if not self._seen.first_time(alert.sighting.event_id):
            self.repeated += 1
            return
        record = self._ctx.watchlist.get(alert.sighting.entry_id)
        if record is None:
            return  # erased since
        roles = _roles_seeing(self._ctx, record.watchlist)
        has_photo = bool(self._ctx.watchlist.photo_keys(record.entry_id))
        stored = self._ctx.sightings.get(alert.sighting.event_id)
        status = stored.status if stored else "candidate"
        confirmed = self._ctx.review.confirmations_of([alert.sighting.event_id]).get(alert.sighting.event_id, 0)
        sighting = views.sighting(self._ctx, alert.sighting, status, record.display_name, has_photo, confirmed)
        out = schemas.Alert(sighting=sighting, track_id=alert.track_id)
        self._loop.call_soon_threadsafe(self._fanout.publish, out, roles)


def _roles_seeing(ctx: ApiContext, watchlist: str) -> frozenset[str]:
    return frozenset(r for r in ROLES if ctx.config.watchlist.allows(watchlist, r))
