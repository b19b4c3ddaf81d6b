"""MQTT forwarding through paho-mqtt: QoS 1 events, not retained; availability retained, with a last will.

Topics, under ``<topic_prefix>/<site>``: ``alerts`` (new candidates), ``decisions`` (confirmed, rejected),
``cameras/<camera id>/health`` (a camera's stream state changed) and ``availability`` (``online`` /
``offline``, retained; the broker publishes ``offline`` itself when facetrail vanishes). paho keeps QoS 1
messages published while the broker is away and sends them once it is back; each acknowledged one is audited.
"""

from __future__ import annotations

import logging
import ssl
import threading
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from facetrail.audit.log import AuditLog
from facetrail.config import MqttConfig
from facetrail.forwarding.payloads import Availability, CameraHealthMessage, SightingMessage

log = logging.getLogger(__name__)

ACTOR = "facetrail-forwarding"
QOS = 1


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str | None

    def __repr__(self) -> str:
        return f"Credentials({self.username!r}, password hidden)"


def topic_of(config: MqttConfig, site: str, message: SightingMessage | CameraHealthMessage) -> str:
    base = f"{config.topic_prefix}/{site}"
    if isinstance(message, CameraHealthMessage):
        return f"{base}/cameras/{message.data.camera_id}/health"
    return f"{base}/alerts" if message.type == "sighting.candidate" else f"{base}/decisions"


class MqttForwarder:
    def __init__(self, config: MqttConfig, site: str, credentials: Credentials | None, audit: AuditLog):
        self.config, self._site, self._audit = config, site, audit
        self.availability_topic = f"{config.topic_prefix}/{site}/availability"
        self._pending: dict[int, tuple[str, str, str]] = {}
        self._lock = threading.Lock()
        self.connected = threading.Event()
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=config.client_id or f"facetrail-{site}",
                             protocol=mqtt.MQTTv311, clean_session=False)
        if credentials is not None:
            client.username_pw_set(credentials.username, credentials.password)
        if config.tls:
            client.tls_set(ca_certs=str(config.ca_file) if config.ca_file else None, cert_reqs=ssl.CERT_REQUIRED)
        client.will_set(self.availability_topic, Availability(state="offline").model_dump_json(), qos=QOS, retain=True)
        client.reconnect_delay_set(1, 30)
        client.on_connect, client.on_disconnect, client.on_publish = self._on_connect, self._on_disconnect, self._on_publish
        self._client = client

    def start(self) -> None:
        self._client.connect_async(self.config.host, self.config.port, self.config.keepalive_s)
        self._client.loop_start()

    def publish(self, message: SightingMessage | CameraHealthMessage, event_id: str, kind: str) -> None:
        topic = topic_of(self.config, self._site, message)
        with self._lock:  # the acknowledgement may come before publish() returns: note the mid first
            info = self._client.publish(topic, message.model_dump_json(), qos=QOS, retain=False)
            self._pending[info.mid] = (event_id, kind, message.id)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Say 'offline' (retained) and disconnect cleanly, so the broker does not also send the last will."""
        if self.connected.is_set():
            info = self._client.publish(self.availability_topic, Availability(state="offline").model_dump_json(),
                                        qos=QOS, retain=True)
            try:
                info.wait_for_publish(timeout_s)
            except (RuntimeError, ValueError):
                pass  # the connection went meanwhile: the broker sends the last will instead
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _properties: Any) -> None:
        if reason.is_failure:
            log.warning("mqtt %s:%s refused the connection: %s", self.config.host, self.config.port, reason)
            return
        client.publish(self.availability_topic, Availability(state="online").model_dump_json(), qos=QOS, retain=True)
        self.connected.set()
        log.info("mqtt: connected to %s:%s", self.config.host, self.config.port)

    def _on_disconnect(self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _properties: Any) -> None:
        self.connected.clear()
        if reason.is_failure:
            log.warning("mqtt: disconnected from %s:%s (%s); reconnecting", self.config.host, self.config.port, reason)

    def _on_publish(self, _client: mqtt.Client, _userdata: Any, mid: int, _reason: Any, _properties: Any) -> None:
        with self._lock:
            noted = self._pending.pop(mid, None)
        if noted is None:
            return  # availability
        event_id, kind, message_id = noted
        try:
            self._audit.record(ACTOR, "forwarding.delivery", f"mqtt:{self.config.host}",
                               {"channel": "mqtt", "event_id": event_id, "kind": kind, "message_id": message_id,
                                "outcome": "published"})
        except Exception:  # the audit must not kill paho's network thread; the failure is logged
            log.exception("mqtt: could not audit the delivery of %s", message_id)
