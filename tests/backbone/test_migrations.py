"""Alembic migrations on the real PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from facetrail.storage.database import Database
from facetrail.storage.migrate import head_revision
from facetrail.storage.models import Base
from services_fixtures import postgres_service  # noqa: F401
from tests.backbone.conftest import facetrail
from tests.backbone.stores import private_database

pytestmark = pytest.mark.services


def test_db_upgrade_on_an_empty_postgres_database_creates_exactly_the_models_tables(postgres_service, tmp_path):  # noqa: F811
    with private_database(postgres_service) as url:
        config = tmp_path / "site.yaml"
        config.write_text(f"database: {{url: '{url}'}}\n")
        result = facetrail("db", "upgrade", "-c", str(config))
        assert f"database at revision {head_revision()} (was empty)" in result.stdout
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                tables = set(inspect(conn).get_table_names())
                differences = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
        finally:
            engine.dispose()
        assert tables == set(Base.metadata.tables) | {"alembic_version"}
        assert differences == []


def test_opening_a_postgres_database_made_by_create_all_stamps_it_instead_of_failing(postgres_service):  # noqa: F811
    with private_database(postgres_service) as url:
        engine = create_engine(url)
        Base.metadata.create_all(engine)
        engine.dispose()
        db = Database(url)
        with db.engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == head_revision()
        db.dispose()


def test_a_postgres_database_of_release_0005_upgrades_to_the_models_schema(postgres_service):  # noqa: F811
    from alembic import command

    from facetrail.storage.migrate import alembic_config

    with private_database(postgres_service) as url:
        engine = create_engine(url)
        with engine.begin() as connection:
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.upgrade(config, "0005")
        engine.dispose()
        Database(url).dispose()  # opening it migrates it
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                schema = inspect(conn)
                foreign_keys = (schema.get_foreign_keys("sightings"), schema.get_foreign_keys("track_visits"))
                differences = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
        finally:
            engine.dispose()
        assert foreign_keys == ([], []) and differences == []
