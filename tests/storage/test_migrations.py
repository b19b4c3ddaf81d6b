"""Embedded (SQLite) databases are migrated in place, as PostgreSQL ones are."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, inspect

from facetrail.storage.database import Database
from facetrail.storage.migrate import alembic_config, current_revision, head_revision


def _database_at(url: str, revision: str) -> None:
    """An embedded database as the release at `revision` left it, made by the migrations themselves."""
    engine = create_engine(url)
    with engine.begin() as connection:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    engine.dispose()


def test_a_new_embedded_database_is_recorded_at_the_newest_revision(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'new.db'}")
    assert current_revision(db.engine) == head_revision()
    db.dispose()


def test_an_embedded_database_of_an_earlier_release_gains_the_template_model_column(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _database_at(url, "0002")
    db = Database(url)
    columns = {c["name"] for c in inspect(db.engine).get_columns("entry_embeddings")}
    assert "model" in columns
    assert "operating_points" in inspect(db.engine).get_table_names()
    assert current_revision(db.engine) == head_revision()
    db.dispose()


def test_an_embedded_database_of_release_0003_gains_the_shared_login_throttle_tables(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _database_at(url, "0003")
    db = Database(url)
    assert {"login_failures", "login_lockouts"} <= set(inspect(db.engine).get_table_names())
    assert current_revision(db.engine) == head_revision()
    db.dispose()


def test_an_embedded_database_of_release_0004_gains_disabled_users_and_last_logins(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _database_at(url, "0004")
    db = Database(url)
    assert {"disabled", "last_login_at"} <= {c["name"] for c in inspect(db.engine).get_columns("api_users")}
    assert current_revision(db.engine) == head_revision()
    db.dispose()


def test_an_embedded_database_of_release_0005_loses_the_per_row_checks_of_sightings_and_visits(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _database_at(url, "0005")
    db = Database(url)
    schema = inspect(db.engine)
    assert (schema.get_foreign_keys("sightings"), schema.get_foreign_keys("track_visits")) == ([], [])
    assert [i["column_names"] for i in schema.get_indexes("track_visits")] == [["camera_id", "entered_at"]]
    assert current_revision(db.engine) == head_revision()
    db.dispose()


def test_an_embedded_database_of_release_0006_gains_the_alert_outbox_and_erasure_tombstones(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _database_at(url, "0006")
    db = Database(url)
    assert {"alert_outbox", "erased_entries", "site_keys"} <= set(inspect(db.engine).get_table_names())
    assert current_revision(db.engine) == head_revision()
    db.dispose()


def test_an_embedded_database_of_release_0006_gains_archive_jobs_and_their_segments(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _database_at(url, "0006")
    db = Database(url)
    assert {"archive_jobs", "archive_segments"} <= set(inspect(db.engine).get_table_names())
    assert current_revision(db.engine) == head_revision()
    db.dispose()


def test_the_migrations_build_the_schema_the_models_describe(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from facetrail.storage.models import Base

    url = f"sqlite:///{tmp_path / 'migrated.db'}"
    _database_at(url, "head")
    engine = create_engine(url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []


def test_an_embedded_database_of_release_0006_gains_the_webhook_delivery_queue(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _database_at(url, "0006")
    db = Database(url)
    schema = inspect(db.engine)
    assert {c["name"] for c in schema.get_columns("forwarding_deliveries")} >= {"target", "message_id", "entry_id", "state"}
    assert ["target", "message_id"] in [i["column_names"] for i in schema.get_indexes("forwarding_deliveries") if i["unique"]]
    assert current_revision(db.engine) == head_revision()
    db.dispose()
