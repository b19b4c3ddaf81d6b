"""`facetrail retention sweep`: erase expired entries and data past its retention limit, once."""

from __future__ import annotations

import click

from facetrail.cli.context import CONFIG_OPTION, Stores
from facetrail.accountability.retention import sweep


@click.group("retention")
def retention_group() -> None:
    """Retention limits and watch-list expiry (also swept periodically by `facetrail run`)."""


@retention_group.command("sweep")
@CONFIG_OPTION
def sweep_once(config_path: str) -> None:
    """Erase expired entries and everything derived, and data older than the retention limits."""
    stores = Stores.load(config_path)
    report = sweep(stores.config, stores.db, stores.objects, stores.bus, stores.audit)
    click.echo(f"retention sweep: {report.summary()}")
