"""Schema migrations with Alembic: `upgrade` brings a database to the models' schema.

PostgreSQL deployments are migrated (an advisory lock lets several processes
start at once); a database created before migrations existed, whose tables
match the first revision, is stamped rather than re-created.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
INITIAL_REVISION = "0001"
# Any 64-bit number facetrail alone uses: serialises concurrent upgrades of one database.
_LOCK_ID = 0x66616365747261

_SQLITE_AUDIT_GUARDS = [
    "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
]
_POSTGRES_AUDIT_GUARDS = [
    "CREATE OR REPLACE FUNCTION facetrail_audit_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'the audit log is append-only'; END; $$ LANGUAGE plpgsql",
    "DROP TRIGGER IF EXISTS audit_append_only ON audit_log",
    "CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION facetrail_audit_append_only()",
]


def alembic_config(url: str) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config("")).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def stamp_head(engine: Engine) -> str:
    """Record a database just made by create_all as at the newest revision: it has the models' schema."""
    head = head_revision()
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.stamp(config, head)
    return head


def upgrade(engine: Engine) -> str:
    """Migrate the database to the newest revision; returns it."""
    head = head_revision()
    if current_revision(engine) == head:
        return head
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
        config.attributes["connection"] = connection
        tables = set(inspect(connection).get_table_names())
        if "alembic_version" not in tables and "watchlist_entries" in tables:
            # Created by create_all before migrations existed: that is the first revision's schema.
            command.stamp(config, INITIAL_REVISION)
        command.upgrade(config, "head")
    return head


def install_audit_guards(engine: Engine) -> None:
    """Triggers that refuse UPDATE and DELETE on the audit log, in the database itself.

    On PostgreSQL the advisory lock of upgrades serialises processes installing them at once (re-creating a
    trigger concurrently fails with "tuple concurrently updated")."""
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as connection:
        if postgres:
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
        for statement in _POSTGRES_AUDIT_GUARDS if postgres else _SQLITE_AUDIT_GUARDS:
            connection.execute(text(statement))
