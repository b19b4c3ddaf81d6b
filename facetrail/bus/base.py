"""The small interface every bus adapter implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

HEALTH_TOPIC = "facetrail.camera-health.v1"
ALERTS_TOPIC = "facetrail.alerts.v1"
DEAD_LETTER_TOPIC = "facetrail.dead-letter.v1"


class BusError(Exception):
    """The bus cannot do what was asked (e.g. the broker is away); the message says why."""


@dataclass(frozen=True)
class Record:
    topic: str
    key: str
    value: bytes
    offset: int
    partition: int = 0


class Consumer(Protocol):
    def poll(self, timeout_s: float, max_records: int = 500) -> list[Record]:
        """Next records after the committed position; waits up to timeout_s for one."""

    def commit(self) -> None:
        """Mark everything returned by poll so far as processed (call after the durable write)."""

    def close(self) -> None: ...


class EventBus(Protocol):
    def publish(self, topic: str, key: str, value: bytes) -> None:
        """Durably queue one message; ordering is kept per key."""

    def publish_many(self, topic: str, messages: list[tuple[str, bytes]]) -> None:
        """Durably queue (key, value) messages in their order, at once: one transaction or one hand-over."""

    def flush(self, timeout_s: float = 10.0) -> None: ...

    def consumer(self, topic: str, group: str) -> Consumer: ...

    def close(self) -> None: ...
