"""Every bus channel, declared once: its topic, partitions, payload type and message key.

Publishers and consumers go through a channel, never a topic name of their own: the channel picks the
key (messages with one key share a partition and keep their order) and encodes and decodes the payload,
as quix-streams' ``Topic`` owns its serialisers. The Kafka adapter creates topics from ``TOPICS``; the
published contract (facetrail.event_schemas) is generated from ``CHANNELS``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel

from facetrail.alerts import Alert, DeadLetter, Decision
from facetrail.bus.base import Consumer, EventBus
from facetrail.events import SightingEvent
from facetrail.health import CameraHealth

P = TypeVar("P", bound=BaseModel)


@dataclass(frozen=True)
class Topic:
    name: str
    """As published, before a deployment's ``topic_prefix``."""
    partitions: int
    """Created with this many on Kafka (the embedded bus has one log a topic)."""


@dataclass(frozen=True)
class Channel(Topic, Generic[P]):
    payload: type[P]
    key: Callable[[P], str]
    key_holds: str
    """What the key holds, in words: part of the published contract."""

    def encode(self, message: P) -> tuple[str, bytes]:
        return self.key(message), message.model_dump_json().encode()

    def decode(self, value: bytes | str) -> P:
        """The payload of one message; pydantic's ValidationError (a ValueError) when it is not one."""
        return self.payload.model_validate_json(value)

    def publish(self, bus: EventBus, message: P) -> None:
        key, value = self.encode(message)
        bus.publish(self.name, key, value)

    def publish_many(self, bus: EventBus, messages: Iterable[P]) -> None:
        bus.publish_many(self.name, [self.encode(message) for message in messages])

    def consumer(self, bus: EventBus, group: str) -> Consumer:
        return bus.consumer(self.name, group)


# Sightings are spread over several partitions so analysis and stitching scale out; the low-volume
# channels keep one partition and so one total order.
SIGHTINGS = Channel("facetrail.sightings.v1", 6, SightingEvent, lambda event: event.entry_id, "entry_id")
HEALTH = Channel("facetrail.camera-health.v1", 1, CameraHealth, lambda report: report.camera_id, "camera_id")
ALERTS = Channel("facetrail.alerts.v1", 1, Alert, lambda alert: alert.sighting.entry_id, "sighting.entry_id")
DECISIONS = Channel("facetrail.decisions.v1", 1, Decision, lambda decision: decision.entry_id, "entry_id")
DEAD_LETTERS = Channel("facetrail.dead-letter.v1", 1, DeadLetter, lambda letter: letter.key,
                       "the refused message's own key")
CAMERAS = Topic("facetrail.cameras.v1", 1)
"""No messages: its partitions, one a camera (created at start, bus/assignment.py), are what a Kafka group of
workers shares out, so each camera is analysed by one worker."""

CHANNELS: tuple[Channel[SightingEvent] | Channel[Alert] | Channel[CameraHealth] | Channel[DeadLetter]
                | Channel[Decision], ...] = (SIGHTINGS, ALERTS, HEALTH, DEAD_LETTERS, DECISIONS)
TOPICS: tuple[Topic, ...] = (*CHANNELS, CAMERAS)
PERSON_KEYED = (SIGHTINGS, ALERTS, DEAD_LETTERS, DECISIONS)
"""Channels whose messages are keyed by a person's entry id (a dead letter keeps the sighting's key): erasure
deletes that person's messages from them where the bus can (bus.base.ErasableBus)."""

# Consumer groups of the services (a group shares a topic's partitions out among its members).
TRAJECTORY_GROUP = "facetrail-trajectory"
HEALTH_GROUP = "facetrail-health"
FORWARDING_GROUPS = {ALERTS.name: "facetrail-forwarding-alerts", DECISIONS.name: "facetrail-forwarding-decisions",
                     HEALTH.name: "facetrail-forwarding-health"}
"""Forwarding follows each channel in a group of its own: members of one group reading different topics
would rebalance one another, holding every channel up while any of them joins."""

# Topic names for what addresses a topic itself (tests, tools, the embedded bus's deletions).
SIGHTINGS_TOPIC, HEALTH_TOPIC, ALERTS_TOPIC = SIGHTINGS.name, HEALTH.name, ALERTS.name
DEAD_LETTER_TOPIC, CAMERAS_TOPIC = DEAD_LETTERS.name, CAMERAS.name
