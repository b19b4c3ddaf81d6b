import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from facetrail.bus.channels import ALERTS_TOPIC, DEAD_LETTER_TOPIC, SIGHTINGS_TOPIC
from facetrail.bus.sqlite_bus import SqliteBus
from facetrail.config import KafkaBusConfig, TrajectoryConfig
from facetrail.events import Box, SightingEvent
from facetrail.storage.database import Database
from facetrail.storage.sighting_store import SightingStore
from facetrail.storage.track_store import TrackStore
from facetrail.storage.watchlist_store import WatchlistStore
from facetrail.trajectory.service import Alert, DeadLetter, Restitcher, TrajectoryService
from facetrail.watchlist import EntryRecord
from services_fixtures import kafka_service  # noqa: F401  (session fixture: the real broker via scripts/services)

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=timezone.utc)
POSITIONS = {"cam-a": (0.0, 0.0), "cam-b": (50.0, 0.0), "cam-c": (100.0, 0.0)}
CONFIG = TrajectoryConfig(new_track_gap_s=600, max_speed_mps=10)


@pytest.fixture
def world(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    record = EntryRecord("ada", "Ada", "default", "case 1", "test", "tester", T0, T0 + timedelta(days=900))
    WatchlistStore(db).add(record, np.ones((1, 128), np.float32), [None], model="dlib-resnet-v1")
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
    assert [DeadLetter.model_validate_json(r.value).value for r in bus.messages(DEAD_LETTER_TOPIC)] == [b"{not json"]


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


class _ReadCountingSightings(SightingStore):
    def __init__(self, db):
        super().__init__(db)
        self.reads = 0

    def for_entries(self, since, known=None):
        self.reads += 1
        return super().for_entries(since, known)


def test_a_person_s_first_sightings_become_the_tracks_a_full_restitch_would_without_reading_sightings_back(world):
    bus, db, _ = world
    for camera, at in (("cam-a", 0), ("cam-b", 60), ("cam-c", 3000)):  # a gap after cam-b: two tracks
        _publish(bus, camera, at)
    sightings = _ReadCountingSightings(db)
    TrajectoryService(bus, bus.consumer(SIGHTINGS_TOPIC, "traj"), sightings, TrackStore(db), POSITIONS, CONFIG).drain(idle_s=0.1)
    first = TrackStore(db).search()
    assert sightings.reads == 0
    Restitcher(SightingStore(db), TrackStore(db), POSITIONS, CONFIG).restitch("ada", T0)
    assert [t.camera_order for t in first] == [("cam-a", "cam-b"), ("cam-c",)]
    assert TrackStore(db).search() == first


class _RetentionBetweenReadAndWrite(TrackStore):
    """Deletes every track right after the service reads the tails, as a retention sweep could."""

    def tail_states(self, entry_ids):
        tails = super().tail_states(entry_ids)
        self.delete_ended_before(T0 + timedelta(days=365))
        return tails


def test_a_track_deleted_while_it_is_being_grown_is_rebuilt_by_a_full_restitch(world):
    bus, db, service = world
    for camera, at in (("cam-a", 0), ("cam-b", 60)):
        _publish(bus, camera, at)
    service().drain(idle_s=0.1)
    _publish(bus, "cam-c", 120)
    TrajectoryService(bus, bus.consumer(SIGHTINGS_TOPIC, "traj"), SightingStore(db), _RetentionBetweenReadAndWrite(db),
                      POSITIONS, CONFIG).drain(idle_s=0.1)
    [track] = TrackStore(db).search()
    assert track.camera_order == ("cam-a", "cam-b", "cam-c")


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



class _RecordingBus(SqliteBus):
    """A SQLite bus that notes when alerts are handed over and when delivery is waited for."""

    def __init__(self, path):
        super().__init__(path)
        self.calls: list[str] = []

    def publish_many(self, topic, messages):
        if topic == ALERTS_TOPIC:
            self.calls.append(f"alerts x{len(messages)}")
        super().publish_many(topic, messages)

    def flush(self, timeout_s: float = 10.0) -> None:
        self.calls.append("flush")


@pytest.fixture
def recorded(world, tmp_path):
    _bus, db, _service = world
    bus = _RecordingBus(tmp_path / "recording.db")
    service = TrajectoryService(bus, bus.consumer(SIGHTINGS_TOPIC, "traj"), SightingStore(db), TrackStore(db),
                                POSITIONS, CONFIG)
    return bus, service


def test_a_batch_s_alerts_are_handed_over_without_waiting_and_the_next_batch_waits_for_them_first(recorded):
    bus, service = recorded
    _publish(bus, "cam-a", 0)
    service.step(timeout_s=0.1)
    _publish(bus, "cam-b", 60)
    service.step(timeout_s=0.1)
    assert bus.calls == ["alerts x1", "flush", "alerts x1"]


def test_a_quiet_step_waits_for_the_last_batch_s_alerts(recorded):
    bus, service = recorded
    _publish(bus, "cam-a", 0)
    service.step(timeout_s=0.1)
    service.step(timeout_s=0.1)
    service.step(timeout_s=0.1)
    assert bus.calls == ["alerts x1", "flush"]

class _ClosingConsumer:
    def __init__(self, consumer, calls: list[str]):
        self._consumer, self._calls = consumer, calls

    def __getattr__(self, name):
        return getattr(self._consumer, name)

    def close(self) -> None:
        self._calls.append("consumer closed")
        self._consumer.close()


def test_closing_the_service_sends_the_last_alerts_then_leaves_the_consumer_group(world, tmp_path):
    _bus, db, _service = world
    bus = _RecordingBus(tmp_path / "closing.db")
    service = TrajectoryService(bus, _ClosingConsumer(bus.consumer(SIGHTINGS_TOPIC, "traj"), bus.calls), SightingStore(db),
                                TrackStore(db), POSITIONS, CONFIG)
    _publish(bus, "cam-a", 0)
    service.step(timeout_s=0.1)
    service.close()
    assert bus.calls == ["alerts x1", "flush", "consumer closed"]

# ---- scale-out: several services in one Kafka consumer group -------------------------------------

GROUP_PARTITIONS = 6


@dataclass
class GroupRun:
    """What two services sharing one consumer group did, next to one service alone on the same sightings."""

    events: list[SightingEvent]
    partition_of: dict[str, int]  # person -> partition, as the bus's producer chose it
    owned: list[set[int]]  # partitions each member held
    stitched: list[set[str]]  # people each member stitched
    group_tracks: list
    single_tracks: list
    alert_event_ids: list[str]


def _walks(people: list[str]) -> list[SightingEvent]:
    """Every person passes the three cameras twice, 60 s apart; published in time order, as cameras do."""
    events = [SightingEvent.create(camera_id=camera, entry_id=person, first_seen=T0 + timedelta(seconds=60 * i + p),
                                   last_seen=T0 + timedelta(seconds=60 * i + p + 3), score=0.6,
                                   box=Box(x=0, y=0, w=60, h=60), quality=0.7)
              for p, person in enumerate(people) for i, camera in enumerate(["cam-a", "cam-b", "cam-c"] * 2)]
    return sorted(events, key=lambda e: e.first_seen)


def _enrolled_db(path, people: list[str]) -> Database:
    db = Database(f"sqlite:///{path}")
    for person in people:
        record = EntryRecord(person, person, "default", "case 1", "test", "tester", T0, T0 + timedelta(days=900))
        WatchlistStore(db).add(record, np.ones((1, 128), np.float32), [None], model="dlib-resnet-v1")
    return db


def _poll_all(consumer, count: int, timeout_s: float = 30.0) -> list:
    records, deadline = [], time.monotonic() + timeout_s
    while len(records) < count and time.monotonic() < deadline:
        records += consumer.poll(0.5)
    return records + consumer.poll(1.0)  # and anything beyond what was expected


class _Member(threading.Thread):
    """One trajectory service of the group, stepping until told to stop (a process of its own in deployments)."""

    def __init__(self, service: TrajectoryService, consumer):
        super().__init__(daemon=True)
        self.service, self.consumer = service, consumer
        self.partitions: set[int] = set()
        self.stitched: set[str] = set()
        self.stored = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            step = self.service.step(timeout_s=0.2)
            self.stored += step.stored
            self.stitched |= step.restitched_entries
            self.partitions = self.consumer.assignment()


def _wait_for(condition, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def group_run(tmp_path_factory, kafka_service) -> GroupRun:
    from kafka.partitioner.default import murmur2

    from facetrail.bus.kafka_bus import KafkaBus, ensure_topics

    folder = tmp_path_factory.mktemp("group")
    config = KafkaBusConfig(kind="kafka", bootstrap_servers=kafka_service.kafka_bootstrap, client_id="facetrail-test",
                            topic_prefix=f"test-{uuid.uuid4().hex[:10]}.")
    ensure_topics(config.bootstrap_servers, {SIGHTINGS_TOPIC: GROUP_PARTITIONS, ALERTS_TOPIC: 1, DEAD_LETTER_TOPIC: 1},
                  prefix=config.topic_prefix, timeout_s=30.0)
    people = [f"person-{i}" for i in range(12)]
    events = _walks(people)
    group_db, single_db = _enrolled_db(folder / "group.db", people), _enrolled_db(folder / "single.db", people)
    bus = KafkaBus(config)
    members = []
    for _ in range(2):
        consumer = bus.consumer(SIGHTINGS_TOPIC, "trajectory")
        members.append(_Member(TrajectoryService(bus, consumer, SightingStore(group_db), TrackStore(group_db),
                                                 POSITIONS, CONFIG), consumer))
    try:
        for member in members:
            member.start()
        # Both join before anything is published, so the run shows the settled split, not a rebalance.
        _wait_for(lambda: all(m.partitions for m in members)
                  and sum(len(m.partitions) for m in members) == GROUP_PARTITIONS)
        bus.publish_many(SIGHTINGS_TOPIC, [(e.entry_id, e.to_json()) for e in events])
        bus.flush()
        _wait_for(lambda: sum(m.stored for m in members) >= len(events))
    finally:
        # Every member stops before any leaves the group: a member closed first would hand its
        # partitions to one still stepping, which would then report owning them all.
        for member in members:
            member.stop.set()
        for member in members:
            member.join(timeout=30)
        for member in members:
            member.consumer.close()
    alerts = _poll_all(bus.consumer(ALERTS_TOPIC, "alert-reader"), len(events))
    single = TrajectoryService(bus, bus.consumer(SIGHTINGS_TOPIC, "single"), SightingStore(single_db),
                               TrackStore(single_db), POSITIONS, CONFIG)
    single.drain(idle_s=2.0)
    run = GroupRun(events, {p: (murmur2(p.encode()) & 0x7FFFFFFF) % GROUP_PARTITIONS for p in people},  # Kafka's Java partitioner
                   [m.partitions for m in members], [m.stitched for m in members],
                   TrackStore(group_db).search(limit=1000), TrackStore(single_db).search(limit=1000),
                   [Alert.model_validate_json(r.value).sighting.event_id for r in alerts])
    bus.close()
    group_db.dispose(), single_db.dispose()
    return run


@pytest.mark.services
def test_two_services_in_one_consumer_group_each_stitch_only_the_people_of_their_partitions(group_run):
    owners = [{p for p, partition in group_run.partition_of.items() if partition in owned} for owned in group_run.owned]
    assert all(owners), "precondition: the people hash to both members' partitions"
    assert group_run.stitched == owners


@pytest.mark.services
def test_two_services_in_one_consumer_group_write_the_tracks_one_service_writes(group_run):
    assert len(group_run.single_tracks) == 12
    assert group_run.group_tracks == group_run.single_tracks


@pytest.mark.services
def test_two_services_in_one_consumer_group_raise_one_alert_per_sighting(group_run):
    assert sorted(group_run.alert_event_ids) == sorted(e.event_id for e in group_run.events)


def test_a_settled_heap_is_left_out_of_collections_inside_and_handed_back_on_leaving():
    import gc

    from facetrail.trajectory.service import settled_heap

    before = gc.get_freeze_count()
    with settled_heap():
        assert gc.get_freeze_count() > before  # what existed is frozen; what is made inside is collected as usual
    assert gc.get_freeze_count() == 0  # a caller that goes on (a test running the command in-process) gets it back
