"""Two workers share RTSP cameras through Kafka; the trajectory service writes PostgreSQL, evidence goes to MinIO.

One run of the demo scenario (enrolled people and unenrolled passers-by) through `facetrail run` on the real
services; the tests read back what every store holds.
"""

from __future__ import annotations

import json
import time

import pytest

from facetrail.bus.channels import ALERTS_TOPIC, HEALTH_TOPIC, SIGHTINGS_TOPIC
from facetrail.events import SightingEvent
from facetrail.health import CameraHealth
from tests.backbone.conftest import facetrail
from tests.backbone.world import bucket_keys, database_rows, kafka_messages, routes, sightings_json

pytestmark = pytest.mark.services

RUN_S = 40


@pytest.fixture(scope="module")
def scale_out_run(module_backbone, demo_scenario, rtsp_server_module):
    base = rtsp_server_module({c.id: c.clip for c in demo_scenario.cameras}, once=True)
    site = module_backbone.site(demo_scenario, {c.id: f"{base}/{c.id}" for c in demo_scenario.cameras}, workers=2)
    started = time.monotonic()
    result = facetrail("run", "-c", str(site), "--duration", str(RUN_S), timeout=RUN_S + 120)
    return site, time.monotonic() - started, result


def test_two_workers_give_each_enrolled_person_the_scenario_camera_order(scale_out_run, demo_scenario, figure):
    site, seconds, result = scale_out_run
    figure("scale_out_run_s", seconds, "s", "facetrail run, 3 RTSP cameras, 2 workers, Kafka/PostgreSQL/MinIO")
    assert "on 2 worker process(es)" in result.stderr
    assert routes(site) == demo_scenario.expected_routes


def _assignment_log(result) -> str:
    """The workers' lines about cameras and the group, to explain a camera that moved."""
    return "\n".join(line for line in result.stderr.splitlines()
                     if any(word in line for word in ("assigned", "camera", "worker", "rebalanc", "heartbeat", "Heartbeat")))


def test_the_cameras_were_shared_between_two_worker_processes(scale_out_run, module_backbone):
    _, _, result = scale_out_run
    rows = database_rows(module_backbone.database_url)["audit_log"]
    starts = [json.loads(r["details"]) | {"camera": r["subject"]} for r in rows if r["action"] == "camera.start"]
    camera_rows = [(r["at"], r["action"], r["subject"], r["details"]) for r in rows if r["action"].startswith("camera.")]
    assert sorted(s["camera"] for s in starts) == ["cam-a", "cam-b", "cam-c"], \
        f"{camera_rows}\n{_assignment_log(result)}"  # each opened once, never moved
    assert len({s["pid"] for s in starts}) == 2


def test_every_stored_sighting_has_its_evidence_crop_in_minio(scale_out_run, module_backbone):
    site, _, _ = scale_out_run
    stored = sightings_json(site)
    keys = bucket_keys(module_backbone.env, module_backbone.bucket)
    assert stored and all(s["evidence_key"] for s in stored)
    assert {s["evidence_key"] for s in stored} <= keys


def test_unenrolled_passers_by_leave_nothing_in_postgres_minio_or_kafka(scale_out_run, module_backbone, demo_scenario):
    site, _, _ = scale_out_run
    rows = database_rows(module_backbone.database_url)
    enrolled = {r["entry_id"] for r in rows["watchlist_entries"]}
    assert {r["display_name"] for r in rows["watchlist_entries"]} == {p.display_name for p in demo_scenario.enrolled}
    messages = kafka_messages(module_backbone.env)
    # They were seen: the cameras' health reports counted passes that matched nobody (counts are all that is kept).
    unmatched = {}
    for message in messages:
        if message.topic == HEALTH_TOPIC:
            report = CameraHealth.model_validate_json(message.value)
            unmatched[report.camera_id] = max(unmatched.get(report.camera_id, 0), report.unmatched_passes)
    assert sum(unmatched.values()) >= len([p for p in demo_scenario.passes if not p.enrolled])
    # PostgreSQL: every row that names a person names an enrolled entry; sightings are exactly the enrolled passes.
    for name, table_rows in rows.items():
        for row in table_rows:
            if "entry_id" in row:
                assert row["entry_id"] in enrolled, f"{name} holds a row of an unknown entry"
    assert len(rows["sightings"]) == len([p for p in demo_scenario.passes if p.enrolled])
    text = json.dumps(rows, default=str)
    assert not [p.display_name for p in demo_scenario.passers_by if p.display_name in text]
    # MinIO: enrolment photos and the crops of stored sightings, nothing else.
    photo_keys = {r["photo_key"] for r in rows["entry_embeddings"] if r["photo_key"]}
    evidence_keys = {r["evidence_key"] for r in rows["sightings"] if r["evidence_key"]}
    assert bucket_keys(module_backbone.env, module_backbone.bucket) <= photo_keys | evidence_keys
    # Kafka, every topic from the beginning: sightings and alerts of enrolled entries, health counts, nothing else.
    topics = {m.topic for m in messages}
    assert topics <= {SIGHTINGS_TOPIC, ALERTS_TOPIC, HEALTH_TOPIC}, topics
    for message in messages:
        if message.topic == SIGHTINGS_TOPIC:
            event = SightingEvent.from_json(message.value)
            assert event.entry_id in enrolled and event.evidence_key in evidence_keys
        elif message.topic == ALERTS_TOPIC:
            assert json.loads(message.value)["sighting"]["entry_id"] in enrolled
        else:
            CameraHealth.model_validate_json(message.value)  # counts and stream state only (extra fields are refused)
        assert message.key in enrolled | {c.id for c in demo_scenario.cameras}
