"""What commands share: the loaded config and the stores it selects."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import click

from facetrail.bus.select import open_bus
from facetrail.config import Config, load_config
from facetrail.storage.database import Database
from facetrail.storage.select import open_object_store
from facetrail.storage.sighting_store import SightingStore
from facetrail.storage.track_store import TrackStore
from facetrail.storage.watchlist_store import WatchlistStore

CONFIG_OPTION = click.option(
    "-c", "--config", "config_path", default="configs/facetrail.yaml", show_default=True,
    envvar="FACETRAIL_CONFIG", type=click.Path(dir_okay=False), help="config file (YAML)",
)


@dataclass
class Stores:
    config_path: str
    config: Config

    @classmethod
    def load(cls, config_path: str) -> "Stores":
        return cls(config_path, load_config(config_path))

    @cached_property
    def db(self) -> Database:
        return Database(self.config.database.url)

    @cached_property
    def bus(self):
        return open_bus(self.config.bus)

    @cached_property
    def objects(self):
        return open_object_store(self.config.objects)

    @cached_property
    def watchlist(self) -> WatchlistStore:
        return WatchlistStore(self.db)

    @cached_property
    def sightings(self) -> SightingStore:
        return SightingStore(self.db)

    @cached_property
    def tracks(self) -> TrackStore:
        return TrackStore(self.db)
