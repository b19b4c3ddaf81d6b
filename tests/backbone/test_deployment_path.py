"""The deployment path as an operator runs it, from an empty broker.

Three recordings go through `facetrail reprocess` on the deployment config (Kafka, MinIO,
PostgreSQL), then `facetrail trajectory --drain`. The tests read back PostgreSQL's tracks,
MinIO's crops and, with kcat (librdkafka, a client independent of facetrail's), every
message on the topics, each checked against the published JSON Schema.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta, timezone

import pytest
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient
from minio import Minio

from facetrail.bus.channels import ALERTS_TOPIC, DEAD_LETTER_TOPIC, HEALTH_TOPIC, SIGHTINGS_TOPIC
from facetrail.bus.kafka_bus import DEFAULT_TOPICS
from facetrail.config import RetentionConfig
from tests.backbone.conftest import SITE_RETENTION, facetrail
from tests.backbone.stores import reset_kafka
from tests.backbone.world import bucket_keys, database_rows, kcat_messages, kcat_partitions
from tests.event_contract import violations

pytestmark = pytest.mark.services

# A frame's capture time can fall a sampling step outside the ground truth's walk (5 fps analysis).
EDGE = timedelta(seconds=0.5)


def _utc(stored: datetime) -> datetime:
    """Times are stored in UTC without a zone (storage.models.UtcDateTime)."""
    return stored.replace(tzinfo=timezone.utc) if stored.tzinfo is None else stored


def _no_error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "Traceback" in line or '"level": "error"' in line]


@pytest.fixture(scope="module")
def prefix(module_backbone):
    """A deployment of its own on the shared broker: none of its topics or groups exist yet."""
    prefix = f"op{secrets.token_hex(4)}."
    yield prefix
    reset_kafka(module_backbone.env, prefix)


@pytest.fixture(scope="module")
def operated(module_backbone, demo_scenario, prefix, kcat):
    topics_before = [t for t in kcat_partitions(module_backbone.env) if t.startswith(prefix)]
    site = module_backbone.site(demo_scenario, {c.id: str(c.clip) for c in demo_scenario.cameras}, topic_prefix=prefix)
    runs = [facetrail("reprocess", str(c.clip), "-c", str(site), "--camera", c.id, "--start", c.starts_at.isoformat(),
                      "--no-stitch") for c in demo_scenario.cameras]
    runs.append(facetrail("trajectory", "-c", str(site), "--drain"))
    return topics_before, runs


@pytest.fixture(scope="module")
def rows(operated, module_backbone):
    return database_rows(module_backbone.database_url)


def test_reprocess_on_an_empty_broker_creates_every_topic_with_its_partitions(operated, module_backbone, prefix):
    topics_before, _ = operated
    assert topics_before == []
    partitions = {t: n for t, n in kcat_partitions(module_backbone.env).items() if t.startswith(prefix)}
    assert partitions == {prefix + name: count for name, count in DEFAULT_TOPICS.items()}


def test_every_topic_keeps_messages_no_longer_than_the_retention_limit(operated, module_backbone, prefix):
    admin = KafkaAdminClient(bootstrap_servers=module_backbone.env.kafka_bootstrap)
    try:
        described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, prefix + name)
                                            for name in DEFAULT_TOPICS])
    finally:
        admin.close()
    retention = {name: values["retention.ms"]["value"] for name, values in described["topic"].items()}
    assert retention == {prefix + name: str(RetentionConfig(**SITE_RETENTION).bus_retention_ms) for name in DEFAULT_TOPICS}


def _enrolled_passes(scenario) -> int:
    return len([p for p in scenario.passes if p.enrolled])


def test_the_commands_print_no_traceback_and_log_no_error(operated, demo_scenario):
    _, runs = operated
    assert [_no_error_lines(run.stderr) for run in runs] == [[] for _ in runs]
    assert f"stitched {_enrolled_passes(demo_scenario)} sighting(s), 0 dead-lettered" in runs[-1].stdout


def test_postgres_holds_exactly_one_track_per_enrolled_person_along_the_scenario_walk(rows, demo_scenario):
    names = {r["entry_id"]: r["display_name"] for r in rows["watchlist_entries"]}
    visits = {}
    for visit in sorted(rows["track_visits"], key=lambda v: (v["track_id"], v["seq"])):
        visits.setdefault(visit["track_id"], []).append(visit)
    tracks = {names[t["entry_id"]]: (t, visits[t["track_id"]]) for t in rows["tracks"]}
    assert len(rows["tracks"]) == len(tracks) == len(demo_scenario.enrolled)
    assert {name: tuple(v["camera_id"] for v in vs) for name, (_, vs) in tracks.items()} == demo_scenario.expected_routes
    for name, (track, track_visits) in tracks.items():
        walked = sorted((p for p in demo_scenario.passes if p.person == name), key=lambda p: p.starts_at)
        assert track["plausible"] and all(v["sightings"] == 1 for v in track_visits)
        for visit, truth in zip(track_visits, walked, strict=True):
            entered, exited = _utc(visit["entered_at"]), _utc(visit["exited_at"])
            assert truth.starts_at - EDGE <= entered <= exited <= truth.ends_at + EDGE, (
                f"{name} at {visit['camera_id']}: seen {entered:%T.%f}-{exited:%T.%f}, "
                f"walked {truth.starts_at:%T}-{truth.ends_at:%T}")


def test_minio_holds_a_jpeg_crop_for_every_sighting_and_nothing_of_anyone_else(rows, module_backbone, demo_scenario):
    evidence = {r["evidence_key"] for r in rows["sightings"]}
    photos = {r["photo_key"] for r in rows["entry_embeddings"] if r["photo_key"]}
    assert len(evidence) == len(rows["sightings"]) == _enrolled_passes(demo_scenario) and None not in evidence
    assert bucket_keys(module_backbone.env, module_backbone.bucket) == evidence | photos
    env = module_backbone.env
    client = Minio(env.minio_endpoint, env.minio_access_key, env.minio_secret_key, secure=False)
    for key in evidence:
        response = client.get_object(module_backbone.bucket, key)
        try:
            assert response.read(3) == b"\xff\xd8\xff", f"{key} is not a JPEG"
        finally:
            response.close()
            response.release_conn()


@pytest.mark.parametrize("topic", [SIGHTINGS_TOPIC, ALERTS_TOPIC, HEALTH_TOPIC, DEAD_LETTER_TOPIC])
def test_every_message_kcat_reads_obeys_the_published_schema(operated, module_backbone, prefix, topic):
    messages = kcat_messages(module_backbone.env, prefix + topic)
    wrong = {(m["partition"], m["offset"]): violations(topic, m["payload"].encode()) for m in messages}
    assert {place: problems for place, problems in wrong.items() if problems} == {}


def test_kcat_reads_every_stored_sighting_and_one_alert_for_each_keyed_by_the_person(operated, rows, module_backbone, prefix):
    stored = {r["event_id"]: r["entry_id"] for r in rows["sightings"]}
    sightings = kcat_messages(module_backbone.env, prefix + SIGHTINGS_TOPIC)
    alerts = kcat_messages(module_backbone.env, prefix + ALERTS_TOPIC)
    assert {json.loads(m["payload"])["event_id"]: m["key"] for m in sightings} == stored
    assert sorted((json.loads(m["payload"])["sighting"]["event_id"], m["key"]) for m in alerts) == sorted(stored.items())
    assert kcat_messages(module_backbone.env, prefix + DEAD_LETTER_TOPIC) == []
