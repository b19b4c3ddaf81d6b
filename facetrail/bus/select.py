"""Opens the bus adapter the config selects (Kafka is imported only when chosen)."""

from __future__ import annotations

from facetrail.bus.base import EventBus
from facetrail.config import BusConfig, KafkaBusConfig, SqliteBusConfig


def open_bus(config: BusConfig) -> EventBus:
    if isinstance(config, SqliteBusConfig):
        from facetrail.bus.sqlite_bus import SqliteBus

        return SqliteBus(config.path)
    if isinstance(config, KafkaBusConfig):
        from facetrail.bus.kafka_bus import KafkaBus

        return KafkaBus(config)
    raise TypeError(f"unknown bus config {type(config).__name__}")
