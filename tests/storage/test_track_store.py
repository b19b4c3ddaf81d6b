import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from facetrail.events import Box, SightingEvent
from facetrail.storage.models import VisitRow
from facetrail.storage.track_store import TrackStore, TracksChanged
from facetrail.tracks import TrackRecord
from facetrail.trajectory.stitch import grow_tail, stitch

from tests.storage.conftest import NOW, in_thread

PLAN = {"cam-a": (0.0, 0.0), "cam-b": (30.0, 0.0), "cam-c": (60.0, 0.0)}


def _events(entry_id: str, *passes: tuple[str, float]) -> list[SightingEvent]:
    return [SightingEvent.create(camera_id=camera, entry_id=entry_id, first_seen=NOW + timedelta(seconds=at),
                                 last_seen=NOW + timedelta(seconds=at + 3), score=0.7, box=Box(x=0, y=0, w=40, h=40),
                                 quality=0.5) for camera, at in passes]


def _tracks(entry_id: str, *passes: tuple[str, float]):
    return stitch(_events(entry_id, *passes), PLAN, new_track_gap_s=600, max_speed_mps=10)


def test_tail_states_give_each_person_s_latest_track_with_only_its_last_visit(entry_db):
    db, entry_id = entry_db
    TrackStore(db).swap(set(), _tracks(entry_id, ("cam-a", 0), ("cam-b", 2000), ("cam-c", 2060)))
    tails = TrackStore(db).tail_states({entry_id, "nobody"})
    assert set(tails) == {entry_id}
    tail = tails[entry_id]
    assert (tail.started_at, tail.visit_count, tail.last.camera_id) == (NOW + timedelta(seconds=2000), 2, "cam-c")


def test_growing_a_tail_stores_what_a_full_rewrite_would(entry_db):
    db, entry_id = entry_db
    store = TrackStore(db)
    store.swap(set(), _tracks(entry_id, ("cam-a", 0), ("cam-b", 60)))
    later = _events(entry_id, ("cam-b", 100), ("cam-c", 160), ("cam-a", 2000))  # joins the tail; then a new track
    grown, following = grow_tail(entry_id, store.tail_states({entry_id})[entry_id], later, PLAN,
                                 new_track_gap_s=600, max_speed_mps=10)
    store.grow([grown], following)
    stored = store.search(entry_ids=[entry_id])
    full = _tracks(entry_id, ("cam-a", 0), ("cam-b", 60), ("cam-b", 100), ("cam-c", 160), ("cam-a", 2000))
    store.swap({t.track_id for t in stored}, full)
    assert stored == store.search(entry_ids=[entry_id]) and len(stored) == 2


def test_growing_a_track_deleted_since_its_tail_was_read_writes_nothing_and_says_so(entry_db):
    db, entry_id = entry_db
    store = TrackStore(db)
    store.swap(set(), _tracks(entry_id, ("cam-a", 0), ("cam-b", 60)))
    grown, following = grow_tail(entry_id, store.tail_states({entry_id})[entry_id], _events(entry_id, ("cam-c", 100)),
                                 PLAN, new_track_gap_s=600, max_speed_mps=10)
    assert store.delete_ended_before(NOW + timedelta(days=1)) == 1  # retention, between the read and the write
    with pytest.raises(TracksChanged):
        store.grow([grown], following)
    assert store.visits_at("cam-c", NOW, NOW + timedelta(days=1)) == [] and store.count_of(entry_id) == 0


def test_growing_a_visit_another_writer_changed_meanwhile_writes_nothing_and_says_so(pg_entry):
    db, entry_id = pg_entry
    store = TrackStore(db)
    [track] = _tracks(entry_id, ("cam-a", 0), ("cam-b", 60))
    store.swap(set(), [track])
    grown, following = grow_tail(entry_id, store.tail_states({entry_id})[entry_id], _events(entry_id, ("cam-c", 100)),
                                 PLAN, new_track_gap_s=600, max_speed_mps=10)
    with db.session() as other:
        other.begin()
        other.execute(update(VisitRow).where(VisitRow.track_id == track.track_id, VisitRow.seq == grown.first_seq)
                      .values(sightings=VisitRow.sightings + 1))
        growing, outcome = in_thread(lambda: store.grow([grown], following))
        time.sleep(0.5)
        assert growing.is_alive(), "the grow went ahead while another writer held the visit"
        other.commit()
    growing.join(timeout=10)
    assert isinstance(outcome[0], TracksChanged)
    assert store.visits_at("cam-c", NOW, NOW + timedelta(days=1)) == []


def test_retention_deletes_the_visits_of_the_tracks_it_deletes(entry_db):
    db, entry_id = entry_db
    store = TrackStore(db)
    [track] = _tracks(entry_id, ("cam-a", 0), ("cam-b", 60))
    store.swap(set(), [track])
    assert store.delete_ended_before(NOW + timedelta(days=1)) == 1
    with db.session() as session:
        assert session.scalar(select(func.count()).where(VisitRow.track_id == track.track_id)) == 0


def test_a_stored_track_reads_back_as_the_record_of_the_track_that_was_stored(entry_db):
    db, entry_id = entry_db
    tracks = _tracks(entry_id, ("cam-a", 0), ("cam-b", 5), ("cam-c", 2000))  # cam-a to cam-b too fast: implausible
    TrackStore(db).swap(set(), tracks)
    assert TrackStore(db).search(entry_ids=[entry_id]) == [TrackRecord.of(t) for t in tracks]
    assert not TrackStore(db).get(tracks[0].track_id).visits[1].plausible_arrival


def test_visits_at_a_camera_read_back_as_the_visits_of_the_stored_records(entry_db):
    db, entry_id = entry_db
    [track] = _tracks(entry_id, ("cam-a", 0), ("cam-b", 60))
    TrackStore(db).swap(set(), [track])
    visits = TrackStore(db).visits_at("cam-b", NOW, NOW + timedelta(seconds=100))
    assert visits == [(entry_id, TrackRecord.of(track).visits[1])]
