"""The far ends of forwarding, as a command centre runs them: a webhook receiver that verifies every signature
(Standard Webhooks) and an MQTT subscriber, each stamping an alert the moment it arrives."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from facetrail.forwarding.signing import verify


class WebhookReceiver:
    """Answers 200 to a verified candidate alert and notes its first arrival by event id; 401 to a bad signature."""

    def __init__(self, secret: str):
        self.arrived: dict[str, datetime] = {}
        self.bad_signatures = 0
        lock, arrived, receiver = threading.Lock(), self.arrived, self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                now = datetime.now(timezone.utc)
                ok = verify(secret, {k.lower(): v for k, v in self.headers.items()}, body)
                with lock:
                    if ok:
                        arrived.setdefault(json.loads(body)["data"]["event_id"], now)
                    else:
                        receiver.bad_signatures += 1
                self.send_response(200 if ok else 401)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/facetrail"
        threading.Thread(target=self._server.serve_forever, name="bench-webhook", daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class MqttListener:
    """Subscribed (QoS 1) to <prefix>/+/alerts; notes each alert's first arrival by event id."""

    def __init__(self, host: str, port: int, username: str, password: str, prefix: str, site: str):
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.arrived: dict[str, datetime] = {}
        self.topic = f"{prefix}/+/alerts"
        subscribed = threading.Event()
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-listener-{prefix}")
        client.username_pw_set(username, password)
        client.on_message = lambda _c, _u, message: self.arrived.setdefault(
            json.loads(message.payload)["data"]["event_id"], datetime.now(timezone.utc))
        client.on_subscribe = lambda *_: subscribed.set()
        client.connect(host, port)
        client.loop_start()
        client.subscribe(self.topic, qos=1)
        if not subscribed.wait(10):
            raise RuntimeError(f"the MQTT broker at {host}:{port} did not confirm the subscription")
        self._client, self._availability = client, f"{prefix}/{site}/availability"

    def stop(self) -> None:
        """Also clears the run's retained availability message, so the shared broker keeps nothing of the run."""
        self._client.publish(self._availability, b"", qos=1, retain=True).wait_for_publish(5)
        self._client.disconnect()
        self._client.loop_stop()
