from datetime import timedelta

from facetrail.events import Box, SightingEvent
from facetrail.storage.track_store import TrackStore
from facetrail.trajectory.stitch import stitch

from tests.storage.conftest import NOW

PLAN = {"cam-a": (0.0, 0.0), "cam-b": (30.0, 0.0), "cam-c": (60.0, 0.0)}


def _tracks(entry_id: str, *passes: tuple[str, float]):
    events = [SightingEvent.create(camera_id=camera, entry_id=entry_id, first_seen=NOW + timedelta(seconds=at),
                                   last_seen=NOW + timedelta(seconds=at + 3), score=0.7, box=Box(x=0, y=0, w=40, h=40),
                                   quality=0.5) for camera, at in passes]
    return stitch(events, PLAN, new_track_gap_s=600, max_speed_mps=10)


def test_tails_gives_each_person_s_latest_track_with_its_visits(entry_db):
    db, entry_id = entry_db
    TrackStore(db).swap(set(), _tracks(entry_id, ("cam-a", 0), ("cam-b", 2000), ("cam-c", 2060)))
    tail = TrackStore(db).tails({entry_id, "nobody"})
    assert set(tail) == {entry_id}
    assert tail[entry_id].camera_order == ("cam-b", "cam-c") and tail[entry_id].started_at == NOW + timedelta(seconds=2000)


def test_extending_a_tail_stores_what_a_full_rewrite_would(entry_db):
    db, entry_id = entry_db
    store = TrackStore(db)
    store.swap(set(), _tracks(entry_id, ("cam-a", 0), ("cam-b", 60)))
    grown = _tracks(entry_id, ("cam-a", 0), ("cam-b", 60), ("cam-b", 100), ("cam-c", 160), ("cam-a", 2000))
    store.extend([store.tails({entry_id})[entry_id]], grown)
    extended = store.search(entry_ids=[entry_id])
    store.swap({t.track_id for t in extended}, grown)
    assert extended == store.search(entry_ids=[entry_id]) and len(extended) == 2


def test_a_tail_that_no_new_track_keeps_is_deleted(entry_db):
    db, entry_id = entry_db
    store = TrackStore(db)
    store.swap(set(), _tracks(entry_id, ("cam-a", 100)))
    [earlier] = _tracks(entry_id, ("cam-b", 0), ("cam-a", 100))
    store.extend([store.tails({entry_id})[entry_id]], [earlier])
    assert [t.camera_order for t in store.search(entry_ids=[entry_id])] == [("cam-b", "cam-a")]
