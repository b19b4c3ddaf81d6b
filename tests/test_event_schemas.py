"""The event contract: the shipped JSON Schemas are the models' own, and real messages of every topic obey them."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from facetrail.bus.channels import ALERTS_TOPIC, DEAD_LETTER_TOPIC, HEALTH_TOPIC, SIGHTINGS_TOPIC
from facetrail.bus.sqlite_bus import SqliteBus
from facetrail.config import TrajectoryConfig
from facetrail.event_schemas import PAYLOADS, generated_schema, schema_text, shipped_schema
from facetrail.events import Box, SightingEvent
from facetrail.health import CameraHealth
from facetrail.publisher import SightingPublisher
from facetrail.storage.database import Database
from facetrail.storage.objects import LocalObjectStore
from facetrail.storage.sighting_store import SightingStore
from facetrail.storage.track_store import TrackStore
from facetrail.storage.watchlist_store import WatchlistStore
from facetrail.trajectory.service import DeadLetter, TrajectoryService
from facetrail.watchlist import EntryRecord
from tests.event_contract import violations

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=timezone.utc)
MALFORMED = b'{"schema_version": 1, "event_id": "nope"}'


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: p.topic)
def test_the_shipped_schema_file_is_the_one_the_model_generates(payload):
    assert schema_text(shipped_schema(payload)) == schema_text(generated_schema(payload)), (
        f"{payload.file_name} is stale: run `python -m facetrail.event_schemas` and commit the files")


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> SqliteBus:
    """Every topic's messages from the real publisher and trajectory service on an embedded bus."""
    folder = tmp_path_factory.mktemp("contract")
    db = Database(f"sqlite:///{folder / 'db.sqlite'}")
    WatchlistStore(db).add(EntryRecord("ada", "Ada", "default", "case 1", "test", "tester", T0, T0 + timedelta(days=900)),
                           np.ones((1, 128), np.float32), [None], model="dlib-resnet-v1")
    bus = SqliteBus(folder / "bus.db")
    publisher = SightingPublisher(bus, LocalObjectStore(folder / "evidence"))
    event = SightingEvent.create(camera_id="cam-a", entry_id="ada", first_seen=T0, last_seen=T0 + timedelta(seconds=3),
                                 score=0.61, box=Box(x=10, y=20, w=60, h=64), quality=0.7,
                                 evidence_key="evidence/cam-a/2026-01-01/x.jpg", watchlist_version="v1")
    publisher.publish(event, b"\xff\xd8 jpeg")
    publisher.report_health(CameraHealth(camera_id="cam-a", state="streaming", analysed_fps=5.0, last_frame_at=T0,
                                         reported_at=T0 + timedelta(seconds=1), faces_detected=3, matched_passes=1))
    bus.publish(SIGHTINGS_TOPIC, "ada", MALFORMED)
    TrajectoryService(bus, bus.consumer(SIGHTINGS_TOPIC, "traj"), SightingStore(db), TrackStore(db),
                      {"cam-a": (0.0, 0.0)}, TrajectoryConfig()).drain(idle_s=0.1)
    yield bus
    db.dispose()


@pytest.mark.parametrize("topic", [SIGHTINGS_TOPIC, ALERTS_TOPIC, HEALTH_TOPIC, DEAD_LETTER_TOPIC])
def test_every_message_published_on_a_topic_obeys_its_schema(published, topic):
    messages = [r.value for r in published.messages(topic) if r.value != MALFORMED]
    assert messages, f"nothing was published on {topic}"
    assert {topic: [violations(topic, m) for m in messages]} == {topic: [[] for _ in messages]}


def test_a_dead_letter_carries_the_refused_message_exactly_and_says_why_without_quoting_it(published):
    [record] = published.messages(DEAD_LETTER_TOPIC)
    letter = DeadLetter.model_validate_json(record.value)
    assert (letter.topic, letter.key, letter.value) == (SIGHTINGS_TOPIC, "ada", MALFORMED)
    assert "event_id: string_pattern_mismatch" in letter.reason and "nope" not in letter.reason
    assert base64.b64decode(json.loads(record.value)["value_base64"]) == MALFORMED


@pytest.mark.parametrize("change", [
    {"score": 1.5}, {"first_seen": "yesterday"}, {"camera_id": "Cam A"}, {"colour": "red"}, {"schema_version": 2},
], ids=str)
def test_a_sighting_that_breaks_the_contract_is_refused_by_the_schema(published, change):
    [raw, *_] = [r.value for r in published.messages(SIGHTINGS_TOPIC) if r.value != MALFORMED]
    assert violations(SIGHTINGS_TOPIC, json.dumps({**json.loads(raw), **change}).encode())


def test_a_sighting_missing_a_field_is_refused_by_the_schema(published):
    [raw, *_] = [r.value for r in published.messages(SIGHTINGS_TOPIC) if r.value != MALFORMED]
    message = json.loads(raw)
    del message["evidence_key"]
    assert violations(SIGHTINGS_TOPIC, json.dumps(message).encode())
