"""Nothing derived from a removed watch-list entry stays behind, with no per-row foreign key to cascade it."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import func, select

from facetrail.events import Box, SightingEvent
from facetrail.storage.entry_locks import live_entries
from facetrail.storage.models import SightingRow, TrackRow, VisitRow
from facetrail.storage.sighting_store import SightingStore
from facetrail.storage.track_store import TrackStore
from facetrail.storage.watchlist_store import WatchlistStore
from facetrail.trajectory.stitch import stitch

from tests.storage.conftest import NOW, in_thread

PLAN = {"cam-a": (0.0, 0.0), "cam-b": (30.0, 0.0)}


def _passes(entry_id: str, *at_s: float) -> list[SightingEvent]:
    return [SightingEvent.create(camera_id=("cam-a", "cam-b")[i % 2], entry_id=entry_id,
                                 first_seen=NOW + timedelta(seconds=at), last_seen=NOW + timedelta(seconds=at + 2),
                                 score=0.7, box=Box(x=0, y=0, w=40, h=40), quality=0.5) for i, at in enumerate(at_s)]


def _rows(db, entry_id: str) -> dict[str, int]:
    tracks = select(TrackRow.track_id).where(TrackRow.entry_id == entry_id)
    with db.session() as session:
        return {"sightings": session.scalar(select(func.count()).where(SightingRow.entry_id == entry_id)),
                "tracks": session.scalar(select(func.count()).select_from(TrackRow).where(TrackRow.entry_id == entry_id)),
                "visits": session.scalar(select(func.count()).where(VisitRow.track_id.in_(tracks)))}


def _store_seen(db, entry_id: str) -> None:
    events = SightingStore(db).upsert_batch(_passes(entry_id, 0, 60)).events
    TrackStore(db).swap(set(), stitch(events, PLAN, new_track_gap_s=600, max_speed_mps=10))


def test_removing_an_entry_deletes_its_sightings_tracks_and_visits(entry_db):
    db, entry_id = entry_db
    _store_seen(db, entry_id)
    assert _rows(db, entry_id) == {"sightings": 2, "tracks": 1, "visits": 2}
    with db.session() as session:
        visits_before = session.scalar(select(func.count()).select_from(VisitRow))
    assert WatchlistStore(db).remove(entry_id)
    assert _rows(db, entry_id) == {"sightings": 0, "tracks": 0, "visits": 0}
    with db.session() as session:  # the visits went with their tracks: none is left without one
        assert session.scalar(select(func.count()).select_from(VisitRow)) == visits_before - 2


def test_sightings_and_tracks_of_an_entry_removed_before_they_are_written_are_not_written(entry_db):
    db, entry_id = entry_db
    events = _passes(entry_id, 0, 60)
    WatchlistStore(db).remove(entry_id)
    assert SightingStore(db).upsert_batch(events).events == []
    TrackStore(db).swap(set(), stitch(events, PLAN, new_track_gap_s=600, max_speed_mps=10))
    TrackStore(db).grow([], stitch(events, PLAN, new_track_gap_s=600, max_speed_mps=10))
    assert _rows(db, entry_id) == {"sightings": 0, "tracks": 0, "visits": 0}


def test_removal_waits_for_a_writer_holding_the_entry_and_deletes_what_it_wrote(pg_entry):
    db, entry_id = pg_entry
    with db.session() as writer:
        writer.begin()
        assert live_entries(writer, {entry_id}) == {entry_id}
        writer.execute(SightingRow.__table__.insert(), [{
            "event_id": e.event_id, "entry_id": entry_id, "camera_id": e.camera_id, "first_seen": e.first_seen,
            "last_seen": e.last_seen, "score": e.score, "quality": e.quality, "box_x": 0, "box_y": 0, "box_w": 40,
            "box_h": 40, "status": "candidate", "stored_at": NOW} for e in _passes(entry_id, 0)])
        removal, removed = in_thread(lambda: WatchlistStore(db).remove(entry_id))
        time.sleep(0.5)
        assert removal.is_alive(), "the removal went ahead while a writer held the entry"
        writer.commit()
    removal.join(timeout=10)
    assert removed == [True]
    assert _rows(db, entry_id)["sightings"] == 0


def test_a_writer_that_starts_during_a_removal_waits_and_then_writes_nothing(pg_entry):
    db, entry_id = pg_entry
    from facetrail.storage.entry_locks import remove_entry

    with db.session() as remover:
        remover.begin()
        assert remove_entry(remover, entry_id)
        upsert, upserted = in_thread(lambda: SightingStore(db).upsert_batch(_passes(entry_id, 0)))
        time.sleep(0.5)
        assert upsert.is_alive(), "a writer went ahead while the entry was being removed"
        remover.commit()
    upsert.join(timeout=10)
    assert upserted[0].events == []
    assert _rows(db, entry_id)["sightings"] == 0
