"""Embedded (SQLite) databases are migrated in place, as PostgreSQL ones are."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, inspect

from facetrail.storage.database import Database
from facetrail.storage.migrate import alembic_config, current_revision, head_revision


def test_a_new_embedded_database_is_recorded_at_the_newest_revision(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'new.db'}")
    assert current_revision(db.engine) == head_revision()
    db.dispose()


def test_an_embedded_database_of_an_earlier_release_gains_the_template_model_column(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    with engine.begin() as connection:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
    engine.dispose()
    db = Database(url)
    columns = {c["name"] for c in inspect(db.engine).get_columns("entry_embeddings")}
    assert "model" in columns
    assert "operating_points" in inspect(db.engine).get_table_names()
    assert current_revision(db.engine) == head_revision()
    db.dispose()
