"""The small interface every bus adapter implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


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


@runtime_checkable
class ErasableBus(Protocol):
    """A bus whose messages facetrail itself can delete: the embedded SQLite log.

    Erasure and retention delete a person's messages and old ones from it. Kafka cannot delete single
    messages: its topics carry ``retention.ms`` (retention.bus_days) instead."""

    def delete_where_key(self, topic: str, key: str) -> int:
        """Delete every message of ``topic`` with this key (a person's entry id); returns how many."""

    def delete_published_before(self, before_epoch_s: float) -> int:
        """Delete every message published before this moment; returns how many."""


@runtime_checkable
class LagReporting(Protocol):
    """A consumer that can tell how many messages wait for it after its group's committed position: the SQLite
    bus's; a Kafka member's, of its own partitions (None before it has joined its group)."""

    def lag(self) -> int | None: ...
