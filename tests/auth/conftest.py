from __future__ import annotations

import pytest

from facetrail.storage.database import Database


@pytest.fixture
def db(tmp_path):
    """A real embedded database, new for each test."""
    database = Database(f"sqlite:///{tmp_path / 'facetrail.db'}")
    yield database
    database.dispose()
