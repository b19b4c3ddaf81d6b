"""Webhook delivery: each target's queue sent in order, signed, retried with exponential backoff, dead-lettered.

One thread a target, so a slow or absent receiver delays nobody else. An attempt succeeds on a 2xx answer;
anything else (another status, a refused connection, the time limit) is retried after ``backoff_initial_s``,
doubled each time up to ``backoff_max_s``, until ``max_attempts``, when the delivery is dead-lettered
(``facetrail forwarding retry`` puts it back). Errors name the status or the kind of failure: never the
secret, never the body.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import httpx

from facetrail.audit.log import AuditLog
from facetrail.config import WebhookConfig
from facetrail.forwarding.signing import SigningKeys, headers
from facetrail.storage.forwarding_store import Delivery, ForwardingQueue

log = logging.getLogger(__name__)

ACTOR = "facetrail-forwarding"
IDLE_WAIT_S = 0.5
BATCH = 10


@dataclass(frozen=True)
class Attempt:
    ok: bool
    error: str = ""
    status: int | None = None


def backoff_s(config: WebhookConfig, failures: int) -> float:
    """Wait after the `failures`-th failed attempt (1-based)."""
    return float(min(config.backoff_max_s, config.backoff_initial_s * 2 ** (failures - 1)))


class WebhookSender:
    def __init__(self, config: WebhookConfig, keys: SigningKeys):
        self.config, self._keys = config, keys
        self._client = httpx.Client(timeout=config.timeout_s, follow_redirects=False,
                                    headers={"user-agent": "facetrail-webhooks/1"})

    def send(self, delivery: Delivery) -> Attempt:
        body = delivery.body.encode()
        try:
            response = self._client.post(self.config.url, content=body, headers=headers(self._keys, delivery.message_id, body))
        except httpx.TimeoutException:
            return Attempt(False, f"no answer within {self.config.timeout_s:g} s")
        except httpx.HTTPError as exc:
            return Attempt(False, f"{type(exc).__name__}: cannot reach the receiver")
        if 200 <= response.status_code < 300:
            return Attempt(True, status=response.status_code)
        return Attempt(False, f"HTTP {response.status_code}", response.status_code)

    def close(self) -> None:
        self._client.close()


class WebhookDispatcher:
    """Sends one target's due deliveries until stopped; `wake()` when new ones were queued."""

    def __init__(self, sender: WebhookSender, queue: ForwardingQueue, audit: AuditLog):
        self._sender, self._queue, self._audit = sender, queue, audit
        self._config = sender.config
        self._wake, self._stop = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"webhook-{self._config.name}", daemon=True)

    @property
    def name(self) -> str:
        return self._config.name

    @property
    def config(self) -> WebhookConfig:
        return self._config

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(self._config.timeout_s + 5)
        self._sender.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                sent = self.step()
            except Exception:  # the database away for a moment: try again, never die
                log.exception("webhook %s: sending failed; trying again", self._config.name)
                sent = 0
            if not sent:
                self._wake.wait(IDLE_WAIT_S)
                self._wake.clear()

    def step(self) -> int:
        """Send what is due now; returns how many attempts were made."""
        # The claim outlasts the whole batch sent one by one at the time limit, so no other process takes it meanwhile.
        lease = self._config.timeout_s * (BATCH + 1) + 5
        due = self._queue.claim_due(self._config.name, lease, limit=BATCH)
        for delivery in due:
            if self._stop.is_set():
                break
            self._attempt(delivery)
        return len(due)

    def _attempt(self, delivery: Delivery) -> None:
        attempt = self._sender.send(delivery)
        failures = delivery.attempts + 1
        if attempt.ok:
            if self._queue.delivered(delivery.id):
                self._record(delivery, "delivered", failures, status=attempt.status)
            return
        if failures >= self._config.max_attempts:
            if self._queue.failed(delivery.id, attempt.error, None):
                log.warning("webhook %s: delivery %s dead-lettered after %d attempts (%s)", self._config.name,
                            delivery.message_id, failures, attempt.error)
                self._record(delivery, "dead-lettered", failures, error=attempt.error)
            return
        retry_at = datetime.now(timezone.utc) + timedelta(seconds=backoff_s(self._config, failures))
        self._queue.failed(delivery.id, attempt.error, retry_at)
        log.info("webhook %s: attempt %d of %s failed (%s); next at %s", self._config.name, failures,
                 delivery.message_id, attempt.error, retry_at.isoformat(timespec="seconds"))

    def _record(self, delivery: Delivery, outcome: str, attempts: int, status: int | None = None, error: str = "") -> None:
        details: dict[str, object] = {"channel": "webhook", "event_id": delivery.event_id, "kind": delivery.kind,
                                      "message_id": delivery.message_id, "outcome": outcome, "attempts": attempts}
        if status is not None:
            details["status"] = status
        if error:
            details["error"] = error
        self._audit.record(ACTOR, "forwarding.delivery", self._config.name, details)
