"""`facetrail worker` (one analysis process of a scaled-out deployment) and `facetrail db upgrade`."""

from __future__ import annotations

import signal
import threading

import click

from facetrail.cli.context import CONFIG_OPTION, Stores
from facetrail.cli.errors import UsageProblem
from facetrail.config import KafkaBusConfig, load_config


@click.command("worker")
@CONFIG_OPTION
def worker(config_path: str) -> None:
    """Analyse the cameras Kafka assigns this process; start more on other machines to share them out."""
    stores = Stores.load(config_path)
    config = stores.config
    if not isinstance(config.bus, KafkaBusConfig):
        raise UsageProblem(f"{config_path}: `facetrail worker` needs bus.kind: kafka (with the sqlite bus use `facetrail run`)")
    if not config.cameras:
        raise UsageProblem(f"{config_path}: no cameras configured")
    from facetrail.bus.kafka_bus import BusError
    from facetrail.worker import serve_assigned

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    click.echo(f"worker: sharing {len(config.cameras)} camera(s) with the group at {config.bus.bootstrap_servers}; "
               "Ctrl-C stops", err=True)
    try:
        serve_assigned(stores, stop)
    except BusError as exc:
        raise UsageProblem(str(exc)) from None


@click.group("db")
def db_group() -> None:
    """The database schema (Alembic migrations)."""


@db_group.command("upgrade")
@CONFIG_OPTION
def upgrade(config_path: str) -> None:
    """Migrate the configured database to the newest schema (PostgreSQL is also migrated on every start)."""
    from sqlalchemy import create_engine
    from sqlalchemy.exc import OperationalError

    from facetrail.storage.migrate import current_revision, install_audit_guards, upgrade as migrate

    config = load_config(config_path)
    engine = create_engine(config.database.url)
    try:
        before = current_revision(engine)
        after = migrate(engine)
        install_audit_guards(engine)
    except OperationalError as exc:
        raise UsageProblem(f"cannot reach the database: {str(exc.orig).strip().splitlines()[0]}") from None
    finally:
        engine.dispose()
    click.echo(f"database at revision {after}" + ("" if before == after else f" (was {before or 'empty'})"))
