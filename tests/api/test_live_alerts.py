"""A sighting stitched by the trajectory service reaches a connected browser as a live alert within a second."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import httpx

from facetrail.api.app import create_app

from .server import first_live, serving
from .world import PASSWORD


def test_a_new_sighting_arrives_live_within_a_second_and_history_is_not_replayed(world):
    with serving(create_app(world.config)) as base:
        token = httpx.post(f"{base}/api/v1/login", json={"username": "operator1", "password": PASSWORD}).json()["access_token"]
        received = first_live(base, token, "alert")
        event = world.publish("yard", "bob", datetime.now(timezone.utc) - timedelta(seconds=5))
        world.stitch()
        stitched_at = time.monotonic()
        arrived_at, alert = received.get(timeout=5)
    assert alert["sighting"]["event_id"] == event.event_id  # the four older alerts on the topic were skipped
    assert alert["sighting"]["person"] == "Bob Byrne" and alert["sighting"]["camera_name"] == "Yard"
    assert alert["sighting"]["evidence_url"] and alert["sighting"]["photo_url"] and alert["track_id"]
    assert arrived_at - stitched_at < 1.0


def test_connecting_to_the_alert_stream_is_audited(world):
    from facetrail.audit.log import AuditLog

    with serving(create_app(world.config)) as base:
        token = httpx.post(f"{base}/api/v1/login", json={"username": "operator1", "password": PASSWORD}).json()["access_token"]
        with httpx.stream("GET", f"{base}/api/v1/alerts/stream", headers={"Authorization": f"Bearer {token}"},
                          timeout=10) as response:
            assert next(response.iter_lines()).startswith(": connected")
    [connected] = [r for r in AuditLog(world.db).records() if r.action == "alerts.stream.connect"]
    assert connected.actor == "operator1" and connected.details["client"] == "127.0.0.1"


def test_an_enroller_cannot_open_the_alert_stream(world):
    with serving(create_app(world.config)) as base:
        token = httpx.post(f"{base}/api/v1/login", json={"username": "enroller1", "password": PASSWORD}).json()["access_token"]
        response = httpx.get(f"{base}/api/v1/alerts/stream", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403


def test_the_live_feed_forwards_an_alert_published_twice_once():
    from facetrail.api.live import SeenEvents

    seen = SeenEvents(capacity=2)
    assert [seen.first_time(e) for e in ("a", "b", "a", "c", "d", "a")] == [True, True, False, True, True, True]
