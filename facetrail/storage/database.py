"""Engine and session factory; ``migrate`` creates or migrates the schema (by default once, on open)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.orm import Session, sessionmaker

from facetrail.sqlite_wal import checkpoint_and_truncate, switch_to_wal
from facetrail.storage.models import Base


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
    switch_to_wal(dbapi_connection)


class Database:
    def __init__(self, url: str, *, migrate: bool = True):
        """``migrate=False`` opens a database some other process has brought up to date (facetrail.stores)."""
        self.url = url
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(url, connect_args={"timeout": 30})
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            self.engine = create_engine(url, pool_pre_ping=True)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        if migrate:
            self.migrate()

    def migrate(self) -> None:
        """Bring the schema to the newest revision, with the audit log's append-only guards; idempotent."""
        # Alembic only when migrating: worker processes open the database as it is and save its ~10 MB each
        from facetrail.storage.migrate import install_audit_guards, stamp_head, upgrade

        if self.engine.dialect.name == "postgresql":
            upgrade(self.engine)  # deployments: Alembic migrations, so the schema can evolve in place
        elif not inspect(self.engine).get_table_names():
            # a new embedded database: the models' schema at once, recorded as the newest revision
            Base.metadata.create_all(self.engine)
            stamp_head(self.engine)
        else:
            upgrade(self.engine)  # an embedded database from an earlier release is migrated in place too
        install_audit_guards(self.engine)

    def session(self) -> Session:
        return self._sessions()

    def forget_deleted(self) -> None:
        """After an erasure: no copy of a deleted row stays in an embedded database's write-ahead log.

        (Every SQLite connection deletes securely, overwriting with zeros; PostgreSQL's own storage is the deployer's.)"""
        if self.engine.dialect.name == "sqlite":
            with self.engine.connect() as connection:
                checkpoint_and_truncate(connection.connection.dbapi_connection)

    def dispose(self) -> None:
        self.engine.dispose()
