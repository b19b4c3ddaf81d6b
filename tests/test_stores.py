"""The composition root: one object graph a process builds from its config; the schema migrated once, explicitly."""

from pathlib import Path

import pytest
from sqlalchemy import inspect

from facetrail.stores import Stores

CONFIG = "database: {url: 'sqlite:///facetrail.db'}\nbus: {kind: sqlite, path: bus.db}\nobjects: {kind: local, path: objects}\n"


@pytest.fixture
def config_path(tmp_path) -> Path:
    path = tmp_path / "facetrail.yaml"
    path.write_text(CONFIG)
    return path


def test_loading_a_config_migrates_the_database_once_and_every_store_shares_it(config_path, tmp_path):
    stores = Stores.load(config_path)
    stores.audit.record("tester", "test.action")
    assert "audit_log" in inspect(stores.db.engine).get_table_names()
    assert stores.audit.count() == 1
    assert stores.review is stores.review  # built once, on first use
    assert stores.watchlist.records() == []


def test_a_process_started_by_another_opens_the_database_without_migrating_it(config_path, tmp_path):
    started = Stores.load(config_path)
    unmigrated = Stores(started.config, str(config_path), migrate_schema=False)
    assert inspect(unmigrated.db.engine).get_table_names() == []
    started.db.migrate()
    assert "sightings" in inspect(unmigrated.db.engine).get_table_names()


def test_the_audit_log_is_append_only_once_the_schema_is_migrated(config_path):
    stores = Stores.load(config_path)
    stores.audit.record("tester", "test.action")
    with pytest.raises(Exception, match="append-only"):
        with stores.db.engine.begin() as connection:
            connection.exec_driver_sql("DELETE FROM audit_log")
