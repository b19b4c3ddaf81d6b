"""MQTT forwarding against the real Mosquitto (Debian's, started by scripts/services) and a real subscriber."""

from __future__ import annotations

import json
import queue
import time
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from facetrail.accountability.review import ReviewDesk
from services_fixtures import mosquitto_service  # noqa: F401  (session fixture)

pytestmark = pytest.mark.services


class Subscriber:
    """A plain paho client subscribed to everything under facetrail/hq/, noting each message as it came."""

    def __init__(self, env, topic: str = "facetrail/hq/#"):
        self.messages: queue.Queue[tuple[str, dict[str, Any], bool, int]] = queue.Queue()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-subscriber-{time.monotonic_ns()}")
        self._client.username_pw_set(env.mqtt_username, env.mqtt_password)
        self._client.on_message = lambda _c, _u, m: self.messages.put(
            (m.topic, json.loads(m.payload), bool(m.retain), m.qos))
        subscribed = queue.Queue()
        self._client.on_subscribe = lambda *_: subscribed.put(True)
        self._client.connect(env.mqtt_host, env.mqtt_port)
        self._client.loop_start()
        self._client.subscribe(topic, qos=1)
        subscribed.get(timeout=10)

    def next(self, topic: str, timeout_s: float = 10.0) -> tuple[dict[str, Any], bool, int]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                got, payload, retained, qos = self.messages.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if got == topic:
                return payload, retained, qos
        raise AssertionError(f"nothing arrived on {topic} within {timeout_s} s")

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


@pytest.fixture
def broker(mosquitto_service, monkeypatch):  # noqa: F811
    monkeypatch.setenv("FT_TEST_MQTT_USER", mosquitto_service.mqtt_username)
    monkeypatch.setenv("FT_TEST_MQTT_PASSWORD", mosquitto_service.mqtt_password)
    return mosquitto_service


def _mqtt(env, **overrides: Any) -> dict[str, Any]:
    return {"host": env.mqtt_host, "port": env.mqtt_port, "username_env": "FT_TEST_MQTT_USER",
            "password_env": "FT_TEST_MQTT_PASSWORD", "watchlists": ["default"],
            "events": ["candidate", "confirmed", "rejected", "camera_health"], **overrides}


def test_a_match_is_published_on_the_alerts_topic_with_qos_1_and_not_retained(make_site, broker):
    site = make_site({"mqtt": _mqtt(broker)})
    site.enrol("ada", "Ada")
    subscriber = Subscriber(broker)
    forwarding = site.stores.forwarding().start()
    try:
        event = site.match("ada")
        payload, retained, qos = subscriber.next("facetrail/hq/alerts")
    finally:
        forwarding.stop()
        subscriber.close()
    assert (payload["type"], payload["data"]["event_id"], payload["data"]["display_name"]) == (
        "sighting.candidate", event.event_id, None)
    assert (retained, qos) == (False, 1)


def test_decisions_and_camera_health_have_their_own_topics(make_site, broker):
    site = make_site({"mqtt": _mqtt(broker)}, review={"reviewers_required": 1})
    site.enrol("ada", "Ada")
    subscriber = Subscriber(broker)
    forwarding = site.stores.forwarding().start()
    try:
        event = site.match("ada")
        subscriber.next("facetrail/hq/alerts")
        ReviewDesk(site.stores.db, site.stores.audit, 1, bus=site.stores.bus).decide(event.event_id, "rita", "reject")
        decision, _, _ = subscriber.next("facetrail/hq/decisions")
        site.camera_state("reconnecting")
        health, _, _ = subscriber.next("facetrail/hq/cameras/gate/health")
    finally:
        forwarding.stop()
        subscriber.close()
    assert decision["type"] == "sighting.rejected" and decision["data"]["review_state"] == "rejected"
    assert health["data"]["state"] == "reconnecting"


def test_availability_is_retained_online_while_running_and_offline_after(make_site, broker):
    site = make_site({"mqtt": _mqtt(broker)})
    forwarding = site.stores.forwarding().start()
    try:
        assert forwarding.mqtt is not None and forwarding.mqtt.connected.wait(10)
        late = Subscriber(broker, "facetrail/hq/availability")  # subscribes after: sees only what is retained
        online, retained, _ = late.next("facetrail/hq/availability")
        late.close()
    finally:
        forwarding.stop()
    assert online == {"state": "online"} and retained
    after = Subscriber(broker, "facetrail/hq/availability")
    offline, retained, _ = after.next("facetrail/hq/availability")
    after.close()
    assert offline == {"state": "offline"} and retained


def test_the_last_will_says_offline_when_the_connection_drops(make_site, broker):
    site = make_site({"mqtt": _mqtt(broker, keepalive_s=5)})
    forwarding = site.stores.forwarding().start()
    assert forwarding.mqtt is not None and forwarding.mqtt.connected.wait(10)
    watcher = Subscriber(broker, "facetrail/hq/availability")
    try:
        assert watcher.next("facetrail/hq/availability")[0] == {"state": "online"}
        forwarding.mqtt._client.loop_stop()
        forwarding.mqtt._client.socket().close()  # vanish without a DISCONNECT, as a crashed process would
        will, _, _ = watcher.next("facetrail/hq/availability", timeout_s=15)
    finally:
        watcher.close()
    assert will == {"state": "offline"}


def test_a_wrong_password_is_reported_without_the_password(make_site, broker, monkeypatch, caplog):
    monkeypatch.setenv("FT_TEST_MQTT_PASSWORD", "not-the-password-x7")
    site = make_site({"mqtt": _mqtt(broker)})
    forwarding = site.stores.forwarding().start()
    time.sleep(1.5)
    forwarding.stop()
    assert "refused the connection" in caplog.text and "not-the-password-x7" not in caplog.text
