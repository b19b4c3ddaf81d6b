"""A malformed message on the sightings topic of the real Kafka goes to the dead-letter topic; the service carries on."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from facetrail.bus.channels import DEAD_LETTER_TOPIC, SIGHTINGS_TOPIC
from facetrail.bus.kafka_bus import KafkaBus, ensure_topics
from facetrail.config import load_config
from facetrail.events import Box, SightingEvent
from facetrail.trajectory.service import DeadLetter
from tests.backbone.conftest import facetrail
from tests.backbone.world import database_rows, kafka_messages, sightings_json

pytestmark = pytest.mark.services

MALFORMED = b'{"schema_version": 1, "event_id": "not-a-sighting"'


def test_a_malformed_sighting_is_dead_lettered_and_the_next_one_is_stored(backbone, demo_scenario):
    site = backbone.site(demo_scenario, {c.id: f"rtsp://127.0.0.1:1/{c.id}" for c in demo_scenario.cameras})
    config = load_config(site)
    [entry_id, *_] = sorted(r["entry_id"] for r in database_rows(backbone.database_url)["watchlist_entries"])
    now = datetime.now(timezone.utc)
    valid = SightingEvent.create(camera_id="cam-a", entry_id=entry_id, first_seen=now, last_seen=now, score=0.9,
                                 box=Box(x=1, y=2, w=30, h=30), quality=0.8)
    ensure_topics(backbone.env.kafka_bootstrap)
    bus = KafkaBus(config.bus)
    bus.publish(SIGHTINGS_TOPIC, entry_id, MALFORMED)  # same key: same partition, before the valid one
    bus.publish(SIGHTINGS_TOPIC, entry_id, valid.to_json())
    bus.close()

    result = facetrail("trajectory", "-c", str(site), "--drain", timeout=120)

    assert "stitched 1 sighting(s), 1 dead-lettered" in result.stdout
    assert [s["event_id"] for s in sightings_json(site)] == [valid.event_id]
    assert [DeadLetter.model_validate_json(m.value).value for m in kafka_messages(backbone.env)
            if m.topic == DEAD_LETTER_TOPIC] == [MALFORMED]
    # Committed after the write: a second drain finds nothing left to do.
    assert "stitched 0 sighting(s), 0 dead-lettered" in facetrail("trajectory", "-c", str(site), "--drain").stdout
