import numpy as np

from facetrail.storage.watchlist_store import WatchlistStore

from tests.storage.conftest import NOW, make_record


def test_an_entry_keeps_its_accountability_record(db, enrolled):
    [record] = WatchlistStore(db).records()
    assert (record.legal_basis, record.image_source, record.enrolled_by) == ("case 42", "test", "tester")
    assert record.expires_at > record.created_at


def test_expired_entries_are_not_loaded_for_matching(db):
    store = WatchlistStore(db)
    store.add(make_record("old", "Old", expires_in_days=1), np.ones((1, 128), np.float32), [None], model="dlib-resnet-v1")
    assert [p.entry_id for p in store.enrolled_people("dlib-resnet-v1", now=NOW)] == ["old"]
    assert store.enrolled_people("dlib-resnet-v1", now=NOW + np.timedelta64(2, "D").astype(object)) == []


def test_the_version_changes_when_the_watch_list_changes(db, enrolled):
    store = WatchlistStore(db)
    before = store.version()
    store.add(make_record("e2", "Bob"), np.zeros((2, 128), np.float32), [None, None], model="dlib-resnet-v1")
    assert store.version() != before


def test_removing_an_entry_removes_its_embeddings(db, enrolled):
    store = WatchlistStore(db)
    assert store.remove("e1")
    assert store.enrolled_people("dlib-resnet-v1", now=NOW) == [] and store.records() == []


def test_a_models_matcher_loads_only_that_models_templates(db):
    store = WatchlistStore(db)
    store.add(make_record("e1", "Ada"), np.ones((2, 128), np.float32), [None, None], model="dlib-resnet-v1")
    assert store.enrolled_people("face-reidentification-retail-0095-fp16", now=NOW) == []
    store.replace_templates("e1", "face-reidentification-retail-0095-fp16", np.ones((1, 256), np.float32), [None])
    retail = store.enrolled_people("face-reidentification-retail-0095-fp16", now=NOW)
    assert [p.embeddings.shape for p in retail] == [(1, 256)]
    assert [p.embeddings.shape for p in store.enrolled_people("dlib-resnet-v1", now=NOW)] == [(2, 128)]


def test_entries_without_templates_of_a_model_are_listed_for_reembedding(db):
    store = WatchlistStore(db)
    store.add(make_record("e1", "Ada"), np.ones((1, 128), np.float32), [None], model="dlib-resnet-v1")
    assert [r.entry_id for r in store.without_templates("face-reidentification-retail-0095-fp16", now=NOW)] == ["e1"]
    assert store.without_templates("dlib-resnet-v1", now=NOW) == []


def test_the_newest_operating_point_of_a_model_rules_and_calibrating_changes_the_version(db):
    from facetrail.watchlist import OperatingPoint

    store = WatchlistStore(db)
    before = store.version()
    for threshold in (0.6, 0.55):
        store.save_operating_point(OperatingPoint("m", threshold, 0.9, 0.003, NOW, "ana", per_search_fpir=0.0029))
    assert store.operating_point("m").threshold == 0.55 and store.operating_point("m").per_search_fpir == 0.0029
    assert store.operating_point("other") is None
    assert store.version() != before
