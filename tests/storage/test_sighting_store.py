from datetime import timedelta

from facetrail.events import Box, SightingEvent
from facetrail.storage.sighting_store import SightingStore

from tests.storage.conftest import NOW


def _event(entry_id="e1", **changes):
    fields = dict(camera_id="cam-a", entry_id=entry_id, first_seen=NOW, last_seen=NOW + timedelta(seconds=1),
                  score=0.6, box=Box(x=0, y=0, w=50, h=50), quality=0.5)
    fields.update(changes)
    return SightingEvent.create(**fields)


def test_storing_the_same_event_twice_keeps_one_sighting(db, enrolled):
    store = SightingStore(db)
    store.upsert_many([_event()])
    store.upsert_many([_event()])
    assert len(store.search()) == 1


def test_a_later_publication_of_a_pass_extends_the_stored_sighting(db, enrolled):
    store = SightingStore(db)
    store.upsert_many([_event()])
    store.upsert_many([_event(last_seen=NOW + timedelta(seconds=5), score=0.4, final=True)])
    [stored] = store.search()
    assert stored.event.last_seen == NOW + timedelta(seconds=5) and stored.event.score == 0.6
    assert stored.status == "candidate"


def test_sightings_of_an_entry_not_on_the_watch_list_are_not_stored(db, enrolled):
    store = SightingStore(db)
    assert store.upsert_many([_event(entry_id="erased")]) == []
    assert store.search() == []


def test_search_filters_by_camera_and_time(db, enrolled):
    store = SightingStore(db)
    store.upsert_many([_event(), _event(camera_id="cam-b", first_seen=NOW + timedelta(hours=1),
                                        last_seen=NOW + timedelta(hours=1, seconds=2))])
    assert [s.event.camera_id for s in store.search(camera_id="cam-b")] == ["cam-b"]
    assert [s.event.camera_id for s in store.search(until=NOW + timedelta(minutes=5))] == ["cam-a"]
