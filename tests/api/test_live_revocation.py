"""A live alert stream ends within a second of its session being revoked, and no alert reaches it after that;
every alert it did deliver is on the audit log under the user it went to."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from facetrail.api.app import create_app
from facetrail.audit.log import AuditLog

from .server import serving
from .world import PASSWORD

NEW_PASSWORD = "violet tractor seventeen lanterns"


class Listener:
    """Reads one operator's stream in a thread: the alerts it gets, and when the server ended it."""

    def __init__(self, base: str, token: str):
        self.alerts: list[dict] = []
        self.ready, self.ended = threading.Event(), threading.Event()
        self.ended_at = 0.0
        self._thread = threading.Thread(target=self._listen, args=(base, token), daemon=True)
        self._thread.start()
        assert self.ready.wait(10)

    def _listen(self, base: str, token: str) -> None:
        event = None
        try:
            with httpx.stream("GET", f"{base}/api/v1/alerts/stream", headers={"Authorization": f"Bearer {token}"},
                              timeout=30) as response:
                for line in response.iter_lines():
                    if line.startswith(": connected"):
                        self.ready.set()
                    elif line.startswith("event: "):
                        event = line.removeprefix("event: ")
                    elif line.startswith("data: ") and event == "alert":
                        self.alerts.append(json.loads(line.removeprefix("data: ")))
        except httpx.RemoteProtocolError:
            pass  # the API process stopped at the end of a test with this stream still open: it ended all the same
        self.ended_at = time.monotonic()
        self.ended.set()


def _token(base: str, username: str) -> str:
    return httpx.post(f"{base}/api/v1/login", json={"username": username, "password": PASSWORD}).json()["access_token"]


def _revoke(how: str, base: str, world, operator_token: str) -> None:
    admin = {"Authorization": f"Bearer {_token(base, 'admin1')}"}
    if how == "disabled":
        assert httpx.post(f"{base}/api/v1/users/operator1/state", headers=admin, json={"disabled": True}).status_code == 200
    elif how == "logout":
        assert httpx.post(f"{base}/api/v1/logout", headers={"Authorization": f"Bearer {operator_token}"}).status_code == 204
    elif how == "password reset":
        assert httpx.post(f"{base}/api/v1/users/operator1/password", headers=admin,
                          json={"password": NEW_PASSWORD}).status_code == 204
    else:  # `facetrail users remove`, from another process
        removed = subprocess.run([sys.executable, "-m", "facetrail.cli.main", "users", "remove", "operator1", "-c",
                                  str(world.config_path)], capture_output=True, text=True)
        assert removed.returncode == 0, removed.stderr


@pytest.mark.parametrize("how", ["disabled", "logout", "password reset", "users remove"])
def test_a_revoked_session_stream_ends_within_a_second_and_gets_no_further_alert(world, how):
    with serving(create_app(world.config)) as base:
        token = _token(base, "operator1")
        listener = Listener(base, token)
        _revoke(how, base, world, token)
        revoked_at = time.monotonic()
        world.publish("yard", "bob", datetime.now(timezone.utc) - timedelta(seconds=5))
        world.stitch()
        assert listener.ended.wait(5), "the stream stayed open after the session was revoked"
        time.sleep(0.3)
    assert listener.ended_at - revoked_at < 1.0
    assert listener.alerts == []
    assert not [r for r in AuditLog(world.db).records() if r.action == "alert.delivered"]


def test_every_alert_delivered_on_the_stream_is_audited_to_its_recipient(world):
    with serving(create_app(world.config)) as base:
        listener = Listener(base, _token(base, "operator1"))
        event = world.publish("yard", "bob", datetime.now(timezone.utc) - timedelta(seconds=5))
        world.stitch()
        deadline = time.monotonic() + 5
        while not listener.alerts and time.monotonic() < deadline:
            time.sleep(0.05)
    assert [a["sighting"]["event_id"] for a in listener.alerts] == [event.event_id]
    [delivered] = [r for r in AuditLog(world.db).records() if r.action == "alert.delivered"]
    assert (delivered.actor, delivered.subject) == ("operator1", event.event_id)
    assert delivered.details["entry_id"] == "bob"
