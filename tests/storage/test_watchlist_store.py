import numpy as np

from facetrail.storage.watchlist_store import WatchlistStore

from tests.storage.conftest import NOW, make_record


def test_an_entry_keeps_its_accountability_record(db, enrolled):
    [record] = WatchlistStore(db).records()
    assert (record.legal_basis, record.image_source, record.enrolled_by) == ("case 42", "test", "tester")
    assert record.expires_at > record.created_at


def test_expired_entries_are_not_loaded_for_matching(db):
    store = WatchlistStore(db)
    store.add(make_record("old", "Old", expires_in_days=1), np.ones((1, 128), np.float32), [None])
    assert [p.entry_id for p in store.enrolled_people(now=NOW)] == ["old"]
    assert store.enrolled_people(now=NOW + np.timedelta64(2, "D").astype(object)) == []


def test_the_version_changes_when_the_watch_list_changes(db, enrolled):
    store = WatchlistStore(db)
    before = store.version()
    store.add(make_record("e2", "Bob"), np.zeros((2, 128), np.float32), [None, None])
    assert store.version() != before


def test_removing_an_entry_removes_its_embeddings(db, enrolled):
    store = WatchlistStore(db)
    assert store.remove("e1")
    assert store.enrolled_people(now=NOW) == [] and store.records() == []
