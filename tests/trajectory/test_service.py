from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from facetrail.bus.base import ALERTS_TOPIC, DEAD_LETTER_TOPIC
from facetrail.bus.sqlite_bus import SqliteBus
from facetrail.config import TrajectoryConfig
from facetrail.events import SIGHTINGS_TOPIC, Box, SightingEvent
from facetrail.storage.database import Database
from facetrail.storage.sighting_store import SightingStore
from facetrail.storage.track_store import TrackStore
from facetrail.storage.watchlist_store import WatchlistStore
from facetrail.trajectory.service import Alert, Restitcher, TrajectoryService
from facetrail.watchlist import EntryRecord

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=timezone.utc)
POSITIONS = {"cam-a": (0.0, 0.0), "cam-b": (50.0, 0.0), "cam-c": (100.0, 0.0)}
CONFIG = TrajectoryConfig(new_track_gap_s=600, max_speed_mps=10)


@pytest.fixture
def world(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    record = EntryRecord("ada", "Ada", "default", "case 1", "test", "tester", T0, T0 + timedelta(days=900))
    WatchlistStore(db).add(record, np.ones((1, 128), np.float32), [None])
    bus = SqliteBus(tmp_path / "bus.db")

    def service():
        return TrajectoryService(bus, bus.consumer(SIGHTINGS_TOPIC, "traj"), SightingStore(db), TrackStore(db),
                                 POSITIONS, CONFIG)

    yield bus, db, service
    db.dispose()


def _publish(bus, camera_id: str, at_s: float, final: bool = False) -> SightingEvent:
    event = SightingEvent.create(camera_id=camera_id, entry_id="ada", first_seen=T0 + timedelta(seconds=at_s),
                                 last_seen=T0 + timedelta(seconds=at_s + 3), score=0.6,
                                 box=Box(x=0, y=0, w=60, h=60), quality=0.7, final=final)
    bus.publish(SIGHTINGS_TOPIC, event.entry_id, event.to_json())
    return event


def test_sightings_on_the_bus_become_one_track_in_camera_order(world):
    bus, db, service = world
    for camera, at in (("cam-a", 0), ("cam-b", 60), ("cam-c", 120)):
        _publish(bus, camera, at)
    service().drain(idle_s=0.1)
    [track] = TrackStore(db).search()
    assert track.camera_order == ("cam-a", "cam-b", "cam-c") and track.plausible


def test_redelivered_sightings_never_duplicate_a_visit(world):
    bus, db, service = world
    _publish(bus, "cam-a", 0)
    _publish(bus, "cam-b", 60)
    service().drain(idle_s=0.1)
    _publish(bus, "cam-a", 0, final=True)  # a replay and a later publication of the same pass
    _publish(bus, "cam-b", 60)
    service().drain(idle_s=0.1)
    [track] = TrackStore(db).search()
    assert [v.sightings for v in track.visits] == [1, 1]
    assert len(SightingStore(db).search()) == 2


def test_a_malformed_message_goes_to_the_dead_letter_topic_and_the_service_carries_on(world):
    bus, db, service = world
    bus.publish(SIGHTINGS_TOPIC, "x", b"{not json")
    _publish(bus, "cam-a", 0)
    result = service().drain(idle_s=0.1)
    assert result.dead_lettered == 1 and result.stored == 1
    assert [r.value for r in bus.messages(DEAD_LETTER_TOPIC)] == [b"{not json"]


def test_a_new_sighting_raises_one_alert_after_it_is_stored(world):
    bus, db, service = world
    _publish(bus, "cam-a", 0)
    _publish(bus, "cam-a", 0, final=True)
    service().drain(idle_s=0.1)
    assert len(bus.messages(ALERTS_TOPIC)) == 1


def test_a_late_sighting_is_stitched_into_the_existing_track(world):
    bus, db, service = world
    _publish(bus, "cam-a", 0)
    _publish(bus, "cam-c", 120)
    service().drain(idle_s=0.1)
    _publish(bus, "cam-b", 60)
    service().drain(idle_s=0.1)
    [track] = TrackStore(db).search()
    assert track.camera_order == ("cam-a", "cam-b", "cam-c")


def test_a_rejected_sighting_leaves_the_track_when_the_person_is_restitched(world):
    bus, db, service = world
    _publish(bus, "cam-a", 0)
    wrong = _publish(bus, "cam-b", 60)
    _publish(bus, "cam-c", 120)
    service().drain(idle_s=0.1)
    SightingStore(db).set_status(wrong.event_id, "rejected")
    Restitcher(SightingStore(db), TrackStore(db), POSITIONS, TrajectoryConfig(new_track_gap_s=600)).restitch("ada", wrong.first_seen)
    [track] = TrackStore(db).search()
    assert track.camera_order == ("cam-a", "cam-c")


def test_sightings_after_the_last_track_extend_it_as_a_full_restitch_would(world):
    bus, db, service = world
    for camera, at in (("cam-a", 0), ("cam-b", 60)):
        _publish(bus, camera, at)
    service().drain(idle_s=0.1)
    for camera, at in (("cam-b", 100), ("cam-c", 160), ("cam-a", 2000)):  # joins the track; then a gap: a new one
        _publish(bus, camera, at)
    service().drain(idle_s=0.1)
    incremental = TrackStore(db).search()
    Restitcher(SightingStore(db), TrackStore(db), POSITIONS, CONFIG).restitch("ada", T0)
    assert [t.camera_order for t in incremental] == [("cam-a", "cam-b", "cam-c"), ("cam-a",)]
    assert [v.sightings for v in incremental[0].visits] == [1, 2, 1]
    assert TrackStore(db).search() == incremental


def test_each_new_sighting_raises_one_alert_in_order_naming_its_track(world):
    bus, db, service = world
    events = [_publish(bus, camera, at) for camera, at in (("cam-a", 0), ("cam-b", 60), ("cam-c", 3000))]
    service().drain(idle_s=0.1)
    alerts = [Alert.model_validate_json(r.value) for r in bus.messages(ALERTS_TOPIC)]
    tracks = {t.started_at: t.track_id for t in TrackStore(db).search()}
    assert [a.sighting.event_id for a in alerts] == [e.event_id for e in events]
    assert [a.track_id for a in alerts] == [tracks[T0], tracks[T0], tracks[T0 + timedelta(seconds=3000)]]


def test_a_rejected_sighting_published_again_stays_out_of_the_track(world):
    bus, db, service = world
    _publish(bus, "cam-a", 0)
    wrong = _publish(bus, "cam-b", 60)
    service().drain(idle_s=0.1)
    SightingStore(db).set_status(wrong.event_id, "rejected")
    Restitcher(SightingStore(db), TrackStore(db), POSITIONS, CONFIG).restitch("ada", wrong.first_seen)
    _publish(bus, "cam-b", 60, final=True)
    _publish(bus, "cam-c", 120)
    service().drain(idle_s=0.1)
    [track] = TrackStore(db).search()
    assert track.camera_order == ("cam-a", "cam-c")


def test_a_bus_that_refuses_the_alerts_leaves_the_sightings_stored_and_the_service_running(world, tmp_path):
    from facetrail.bus.base import BusError

    _bus, db, _service = world

    class RefusingAlerts(SqliteBus):
        def publish_many(self, topic, messages):
            raise BusError("buffer full")

    bus = RefusingAlerts(tmp_path / "refusing.db")
    service = TrajectoryService(bus, bus.consumer(SIGHTINGS_TOPIC, "traj"), SightingStore(db), TrackStore(db),
                                POSITIONS, CONFIG)
    _publish(bus, "cam-a", 0)
    assert service.step(timeout_s=0.1).stored == 1
    assert [t.camera_order for t in TrackStore(db).search()] == [("cam-a",)]
    assert service.step(timeout_s=0.1).consumed == 0  # committed: not delivered again
