"""Each channel owns its topic, its key and its encoding: what one publishes, the same channel reads back."""

from datetime import datetime, timezone

from facetrail.alerts import Alert, DeadLetter, Decision
from facetrail.bus.base import Record
from facetrail.bus.channels import ALERTS, CHANNELS, DEAD_LETTERS, DECISIONS, HEALTH, PERSON_KEYED, SIGHTINGS, TOPICS
from facetrail.bus.kafka_bus import DEFAULT_TOPICS
from facetrail.bus.sqlite_bus import SqliteBus
from facetrail.events import Box, SightingEvent
from facetrail.health import CameraHealth

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def sighting(entry_id: str = "alice") -> SightingEvent:
    return SightingEvent.create(camera_id="gate-1", entry_id=entry_id, first_seen=T0, last_seen=T0, score=0.4,
                                box=Box(x=1, y=2, w=30, h=30), quality=0.8)


def test_a_sighting_published_on_its_channel_is_keyed_by_person_and_read_back_equal(tmp_path):
    bus = SqliteBus(tmp_path / "bus.db")
    SIGHTINGS.publish(bus, sighting("alice"))
    [record] = SIGHTINGS.consumer(bus, "readers").poll(0.5)
    assert (record.topic, record.key) == ("facetrail.sightings.v1", "alice")
    assert SIGHTINGS.decode(record.value) == sighting("alice")


def test_alerts_are_keyed_by_their_sightings_person_and_dead_letters_keep_the_refused_key(tmp_path):
    bus = SqliteBus(tmp_path / "bus.db")
    ALERTS.publish_many(bus, [Alert(sighting=sighting("bob"), track_id=None)])
    refused = Record(topic=SIGHTINGS.name, key="carol", value=b"{", offset=7)
    DEAD_LETTERS.publish(bus, DeadLetter.of(refused, "not JSON"))
    assert [r.key for r in ALERTS.consumer(bus, "readers").poll(0.5)] == ["bob"]
    [letter] = DEAD_LETTERS.consumer(bus, "readers").poll(0.5)
    assert letter.key == "carol" and DEAD_LETTERS.decode(letter.value).value == b"{"


def test_decisions_are_keyed_by_person_so_erasure_reaches_them(tmp_path):
    bus = SqliteBus(tmp_path / "bus.db")
    decision = Decision(event_id="0" * 32, entry_id="dora", status="confirmed", confirmations=2, required=2, decided_at=T0)
    DECISIONS.publish(bus, decision)
    [record] = DECISIONS.consumer(bus, "readers").poll(0.5)
    assert (record.topic, record.key) == ("facetrail.decisions.v1", "dora") and DECISIONS.decode(record.value) == decision
    assert DECISIONS in PERSON_KEYED


def test_health_is_keyed_by_camera():
    report = CameraHealth(camera_id="gate-2", state="running", analysed_fps=1.0, reported_at=T0)
    assert HEALTH.encode(report)[0] == "gate-2"


def test_kafka_creates_every_declared_topic_with_its_declared_partitions():
    assert DEFAULT_TOPICS == {topic.name: topic.partitions for topic in TOPICS}
    assert {channel.name for channel in CHANNELS} < set(DEFAULT_TOPICS)
