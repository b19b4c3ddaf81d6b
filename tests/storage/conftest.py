import threading
import uuid
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from facetrail.storage.database import Database
from facetrail.storage.watchlist_store import WatchlistStore
from facetrail.watchlist import EntryRecord
from services_fixtures import ENV_FILE, read_service_env

NOW = datetime(2026, 1, 1, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'facetrail.db'}")
    yield database
    database.dispose()


def make_record(entry_id: str = "e1", name: str = "Ada", expires_in_days: int = 30) -> EntryRecord:
    return EntryRecord(entry_id=entry_id, display_name=name, watchlist="default", legal_basis="case 42",
                       image_source="test", enrolled_by="tester", created_at=NOW,
                       expires_at=NOW + timedelta(days=expires_in_days))


@pytest.fixture
def enrolled(db):
    store = WatchlistStore(db)
    store.add(make_record(), np.ones((1, 128), np.float32), ["enrolment/e1/0.jpg"], model="dlib-resnet-v1")
    return store


def _postgres_url() -> str:
    """The running services' database (scripts/services up); this test never starts or stops them."""
    if not ENV_FILE.is_file():
        pytest.skip("no var/services/env: PostgreSQL is not running")
    return read_service_env().database_url


def connect(url: str) -> Database:
    """The database at ``url``; the test is skipped when it is the shared PostgreSQL and that is down."""
    try:
        return Database(url)
    except Exception as exc:  # the shared services are down: nothing to check against
        pytest.skip(f"PostgreSQL not reachable: {type(exc).__name__}")


@pytest.fixture(params=["sqlite", "postgresql"])
def entry_db(request, tmp_path):
    """A database on each backend with one fresh watch-list entry (removed afterwards); yields (db, entry_id)."""
    url = f"sqlite:///{tmp_path / 'db.sqlite'}" if request.param == "sqlite" else _postgres_url()
    db = connect(url)
    entry_id = f"bulk-{uuid.uuid4().hex[:8]}"
    WatchlistStore(db).add(make_record(entry_id, entry_id), np.ones((1, 128), np.float32), [None], model="dlib-resnet-v1")
    yield db, entry_id
    WatchlistStore(db).remove(entry_id)  # with its sightings and tracks, from the shared database
    db.dispose()


@pytest.fixture
def pg_entry():
    """An entry on the running PostgreSQL (removed afterwards, if a test left it); yields (db, entry_id)."""
    db = connect(_postgres_url())
    entry_id = f"locks-{uuid.uuid4().hex[:8]}"
    WatchlistStore(db).add(make_record(entry_id, entry_id), np.ones((1, 128), np.float32), [None], model="dlib-resnet-v1")
    yield db, entry_id
    WatchlistStore(db).remove(entry_id)
    db.dispose()


def in_thread(call) -> tuple[threading.Thread, list]:
    """Start ``call`` in a thread; the list gets its result, or the exception it raised."""
    result: list = []

    def run() -> None:
        try:
            result.append(call())
        except Exception as exc:
            result.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result
