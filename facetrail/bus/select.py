"""Opens the bus adapter the config selects (Kafka is imported only when chosen)."""

from __future__ import annotations

from facetrail.bus.base import EventBus
from facetrail.config import BusConfig, Config, KafkaBusConfig, SqliteBusConfig


def open_bus(config: BusConfig) -> EventBus:
    if isinstance(config, SqliteBusConfig):
        from facetrail.bus.sqlite_bus import SqliteBus

        return SqliteBus(config.path)
    if isinstance(config, KafkaBusConfig):
        from facetrail.bus.kafka_bus import KafkaBus

        return KafkaBus(config)
    raise TypeError(f"unknown bus config {type(config).__name__}")


def ensure_topics_of(config: Config) -> None:
    """Before a command publishes or consumes: on Kafka, its topics exist with their partitions and the
    retention the config sets (BusError naming the fix when the broker cannot be reached). The embedded
    bus needs nothing."""
    if isinstance(config.bus, KafkaBusConfig):
        from facetrail.bus.kafka_bus import ensure_bus_topics

        ensure_bus_topics(config.bus, config.retention.bus_retention_ms)
