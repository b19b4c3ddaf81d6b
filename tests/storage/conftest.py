from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from facetrail.storage.database import Database
from facetrail.storage.watchlist_store import WatchlistStore
from facetrail.watchlist import EntryRecord

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
    store.add(make_record(), np.ones((1, 128), np.float32), ["enrolment/e1/0.jpg"])
    return store
