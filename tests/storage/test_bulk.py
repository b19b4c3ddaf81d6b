"""Bulk inserts (COPY on PostgreSQL, executemany elsewhere) store what Core's INSERT would."""

from __future__ import annotations

from datetime import timedelta

from facetrail.events import Box, SightingEvent
from facetrail.storage.sighting_store import SightingStore
from facetrail.storage.track_store import TrackStore
from facetrail.trajectory.stitch import stitch

from tests.storage.conftest import NOW

PLAN = {"cam-a": (0.0, 0.0), "cam-b": (30.0, 0.0)}


def _pass(entry_id: str, camera: str, at_s: float, evidence: str | None) -> SightingEvent:
    return SightingEvent.create(camera_id=camera, entry_id=entry_id, first_seen=NOW + timedelta(seconds=at_s),
                                last_seen=NOW + timedelta(seconds=at_s + 2.5), score=0.75, box=Box(x=1, y=2, w=30, h=40),
                                quality=0.5, evidence_key=evidence, final=True)


def test_bulk_inserted_sightings_read_back_equal_to_what_was_stored(entry_db):
    db, entry_id = entry_db
    events = [_pass(entry_id, "cam-a", 0, "crops/a.jpg"), _pass(entry_id, "cam-b", 0.5, None)]
    SightingStore(db).upsert_batch(events)
    assert sorted((s.event for s in SightingStore(db).search(entry_ids=[entry_id])), key=lambda e: e.event_id) == \
        sorted(events, key=lambda e: e.event_id)


def test_bulk_inserted_tracks_read_back_with_utc_times_and_unknown_speeds(entry_db):
    db, entry_id = entry_db
    events = [_pass(entry_id, "cam-a", 0, None), _pass(entry_id, "cam-b", 60, None), _pass(entry_id, "cam-x", 120, None)]
    [track] = stitch(events, PLAN, new_track_gap_s=600, max_speed_mps=10)
    TrackStore(db).swap(set(), [track])
    [stored] = TrackStore(db).search(entry_ids=[entry_id])
    assert (stored.track_id, stored.started_at, stored.ended_at) == (track.track_id, track.started_at, track.ended_at)
    assert [(v.camera_id, v.entered_at, v.speed_mps) for v in stored.visits] == [
        ("cam-a", NOW, None), ("cam-b", NOW + timedelta(seconds=60), track.transitions[0].speed_mps),
        ("cam-x", NOW + timedelta(seconds=120), None)]


def test_bulk_inserted_rows_are_stored_byte_for_byte_as_cores_insert_stores_them(entry_db):
    from sqlalchemy import insert, text

    from facetrail.storage.bulk import insert_rows
    from facetrail.storage.models import SightingRow
    from facetrail.storage.sighting_store import _INSERTED, _values

    db, entry_id = entry_db
    event = _pass(entry_id, "cam-a", 0.25, "crops/a.jpg")
    row = dict(zip(_INSERTED, _values(event, NOW)))
    table = SightingRow.__table__
    with db.session() as session, session.begin():
        insert_rows(session, table, _INSERTED, [tuple({**row, "event_id": "a" * 32}.values())])
        session.execute(insert(table), [{**row, "event_id": "b" * 32}])
    with db.session() as session:  # raw rows, as the database holds them, not as a column type reads them
        bulk, core = session.execute(text("SELECT * FROM sightings WHERE event_id IN (:a, :b) ORDER BY event_id"),
                                     {"a": "a" * 32, "b": "b" * 32}).all()
    assert bulk[1:] == core[1:]


def test_bulk_inserted_times_are_stored_as_utc_whatever_their_offset(entry_db):
    from datetime import timezone

    from facetrail.storage.bulk import insert_rows
    from facetrail.storage.models import SightingRow
    from facetrail.storage.sighting_store import _INSERTED, _values

    db, entry_id = entry_db
    event = _pass(entry_id, "cam-a", 0, None)
    east = timezone(timedelta(hours=5, minutes=30))
    row = dict(zip(_INSERTED, _values(event, NOW.astimezone(east))), event_id="c" * 32,
               first_seen=event.first_seen.astimezone(east))
    with db.session() as session, session.begin():
        insert_rows(session, SightingRow.__table__, list(row), [tuple(row.values())])
    [stored] = [s for s in SightingStore(db).search(entry_ids=[entry_id]) if s.event.event_id == "c" * 32]
    assert (stored.event.first_seen, stored.event.first_seen.tzinfo) == (event.first_seen, timezone.utc)
    with db.session() as session:
        assert session.get(SightingRow, "c" * 32).stored_at == NOW


def test_a_later_publication_in_a_later_batch_updates_the_stored_pass_and_keeps_its_review_status(entry_db):
    db, entry_id = entry_db
    store = SightingStore(db)
    first, other = _pass(entry_id, "cam-a", 0, None), _pass(entry_id, "cam-b", 30, None)
    store.upsert_batch([first, other])
    store.set_status(first.event_id, "confirmed")
    later = first.model_copy(update={"last_seen": first.last_seen + timedelta(seconds=4), "score": 0.9,
                                     "box": Box(x=5, y=6, w=70, h=80), "evidence_key": "crops/b.jpg", "final": True})
    [merged] = store.upsert_batch([later]).events
    stored = {s.event.event_id: s for s in store.search(entry_ids=[entry_id])}
    assert stored[first.event_id].event == merged == later and stored[first.event_id].status == "confirmed"
    assert stored[other.event_id].event == other


def test_growing_tails_of_several_tracks_updates_each_in_place(entry_db):
    from facetrail.trajectory.stitch import grow_tail

    db, entry_id = entry_db
    store = TrackStore(db)
    events = [_pass(entry_id, "cam-a", 0, None), _pass(entry_id, "cam-b", 5000, None)]
    store.swap(set(), stitch(events, PLAN, new_track_gap_s=600, max_speed_mps=10))
    later = [_pass(entry_id, "cam-b", 5010, None), _pass(entry_id, "cam-a", 5100, None)]
    grown, following = grow_tail(entry_id, store.tail_states({entry_id})[entry_id], later, PLAN,
                                 new_track_gap_s=600, max_speed_mps=10)
    store.grow([grown], following)
    expected = stitch(events + later, PLAN, new_track_gap_s=600, max_speed_mps=10)
    assert [(t.track_id, t.ended_at, [(v.camera_id, v.exited_at, v.sightings) for v in t.visits])
            for t in store.search(entry_ids=[entry_id])] == \
           [(t.track_id, t.ended_at, [(v.camera_id, v.exited_at, v.sightings) for v in t.visits]) for t in expected]
