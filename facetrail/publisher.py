"""The worker's outgoing edge: evidence crops to the object store, then events to the bus.

The crop is written before the event is published, so every published event's
evidence key points at an object that exists. Only matched passes get here.
"""

from __future__ import annotations

from facetrail.bus.base import EventBus
from facetrail.bus.channels import HEALTH, SIGHTINGS
from facetrail.events import SightingEvent
from facetrail.health import CameraHealth
from facetrail.storage.objects import ObjectStore


class SightingPublisher:
    def __init__(self, bus: EventBus, objects: ObjectStore):
        self._bus = bus
        self._objects = objects

    def publish(self, event: SightingEvent, crop_jpeg: bytes | None) -> None:
        if crop_jpeg is not None and event.evidence_key:
            self._objects.put(event.evidence_key, crop_jpeg, "image/jpeg")
        SIGHTINGS.publish(self._bus, event)  # keyed by person: one person's publications stay in order

    def report_health(self, report: CameraHealth) -> None:
        HEALTH.publish(self._bus, report)

    def flush(self) -> None:
        self._bus.flush()
