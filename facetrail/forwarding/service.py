"""The forwarding stage: follow alerts, decisions and camera health on the bus, hand them to each target.

A consumer group of its own on each channel (FORWARDING_GROUPS), each read on a thread of its own, so it
neither steals from nor waits for the trajectory service or the API, and a channel never waits for another.
A batch is committed on the bus only once its webhook deliveries are in the queue (the database) and its
MQTT messages are with paho; a batch that fails (the database away) is taken up again, not skipped, and a
crash re-reads it. The queue's unique (target, message id) and a memory of what MQTT was given make the
re-read harmless: alerts may come twice (at-least-once), each is forwarded once.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from facetrail.audit.log import AuditLog
from facetrail.bus.base import BusError, Consumer, EventBus, Record
from facetrail.bus.channels import ALERTS, DECISIONS, FORWARDING_GROUPS, HEALTH
from facetrail.config import Config, ConfigError
from facetrail.forwarding.compose import Composed, Composer
from facetrail.forwarding.mqtt import Credentials, MqttForwarder
from facetrail.forwarding.signing import SigningKeys
from facetrail.forwarding.webhook import WebhookDispatcher, WebhookSender
from facetrail.storage.forwarding_store import ForwardingQueue, QueuedDelivery

log = logging.getLogger(__name__)

POLL_WAIT_S = 0.2
REMEMBERED = 50_000


def _environment(name: str, where: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise ConfigError(f"{where}: environment variable {name} is not set")
    return value


def signing_keys(config: Config) -> dict[str, SigningKeys]:
    """Each webhook's keys, read from the environment; ConfigError naming the field when one is missing."""
    keys = {}
    for index, hook in enumerate(config.forwarding.webhooks):
        where = f"forwarding.webhooks.{index}.secret_env"
        try:
            keys[hook.name] = SigningKeys([_environment(name, where) for name in hook.secret_env])
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    return keys


def mqtt_credentials(config: Config) -> Credentials | None:
    mqtt = config.forwarding.mqtt
    if mqtt is None or mqtt.username_env is None:
        return None
    password = _environment(mqtt.password_env, "forwarding.mqtt.password_env") if mqtt.password_env else None
    return Credentials(_environment(mqtt.username_env, "forwarding.mqtt.username_env"), password)


@dataclass
class Intake:
    """One channel's round: read what arrived, queue and publish it, commit."""

    config: Config
    channel: str
    consumer: Consumer
    composer: Composer
    queue: ForwardingQueue
    dispatchers: list[WebhookDispatcher]
    mqtt: MqttForwarder | None
    mqtt_sent: OrderedDict[str, None] = field(default_factory=OrderedDict)
    unfinished: list[Record] = field(default_factory=list)
    """A batch whose forwarding failed part-way: taken up again before anything new is read."""

    def step(self, timeout_s: float = POLL_WAIT_S) -> int:
        if not self.unfinished:
            self.unfinished = self.consumer.poll(timeout_s, 500)
        records = self.unfinished
        composed = [c for c in (self._compose(r.value) for r in records) if c is not None]
        self._forward(composed)
        self.consumer.commit()
        self.unfinished = []
        return len(records)

    def _compose(self, value: bytes) -> Composed | None:
        try:
            if self.channel == ALERTS.name:
                return self.composer.alert(ALERTS.decode(value))
            if self.channel == DECISIONS.name:
                return self.composer.decision(DECISIONS.decode(value))
            return self.composer.health(HEALTH.decode(value))
        except ValueError:  # pydantic's ValidationError is one; the trajectory service dead-letters bad sightings
            log.warning("forwarding skipped a malformed message on %s", self.channel)
            return None

    def _forward(self, batch: list[Composed]) -> None:
        queued = []
        for composed in batch:
            crop = self.composer.crop(composed)
            for dispatcher in self.dispatchers:
                hook = dispatcher.config
                message = composed.for_target(hook, self.config, crop)
                if message is not None:
                    queued.append(QueuedDelivery(hook.name, composed.message_id, composed.kind, composed.event_id,
                                                 composed.entry_id, message.model_dump_json()))
        if queued and self.queue.enqueue(queued):
            for dispatcher in self.dispatchers:
                dispatcher.wake()
        if self.mqtt is not None:
            for composed in batch:
                self._publish(self.mqtt, composed)

    def _publish(self, mqtt: MqttForwarder, composed: Composed) -> None:
        if composed.message_id in self.mqtt_sent:
            return  # the bus handed this event over again
        message = composed.for_target(mqtt.config, self.config, self.composer.crop(composed))
        if message is None:
            return
        mqtt.publish(message, composed.event_id, composed.kind)
        self.mqtt_sent[composed.message_id] = None
        if len(self.mqtt_sent) > REMEMBERED:
            self.mqtt_sent.popitem(last=False)

    def close(self) -> None:
        self.consumer.close()


class Forwarding:
    """An intake thread a channel, one sending thread a webhook, paho's network thread for MQTT."""

    def __init__(self, config: Config, bus: EventBus, composer: Composer, queue: ForwardingQueue, audit: AuditLog,
                 make_consumer: Callable[[str], Consumer] | None = None):
        keys, credentials = signing_keys(config), mqtt_credentials(config)  # a missing secret fails here, at start
        self.config, self._bus = config, bus
        self.dispatchers = [WebhookDispatcher(WebhookSender(hook, keys[hook.name]), queue, audit)
                            for hook in config.forwarding.webhooks]
        mqtt = config.forwarding.mqtt
        self.mqtt = None if mqtt is None else MqttForwarder(mqtt, config.site, credentials, audit)
        self._composer, self._queue = composer, queue
        self._make_consumer = make_consumer or (lambda topic: bus.consumer(topic, FORWARDING_GROUPS[topic]))
        self._stop = threading.Event()
        self.intakes: list[Intake] = []
        self._threads: list[threading.Thread] = []

    def open_intakes(self) -> list[Intake]:
        self.intakes = [Intake(self.config, channel.name, self._make_consumer(channel.name), self._composer, self._queue,
                               self.dispatchers, self.mqtt) for channel in (ALERTS, DECISIONS, HEALTH)]
        return self.intakes

    def start(self) -> "Forwarding":
        for dispatcher in self.dispatchers:
            dispatcher.start()
        if self.mqtt is not None:
            self.mqtt.start()
        for intake in self.open_intakes():
            thread = threading.Thread(target=self._run, args=(intake,), name=f"forwarding-{intake.channel}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def _run(self, intake: Intake) -> None:
        while not self._stop.is_set():
            try:
                intake.step()
            except (BusError, OSError, RuntimeError) as exc:
                log.warning("forwarding from %s: %s; trying again", intake.channel, exc)
                self._stop.wait(1.0)
            except Exception:  # a database hiccup must not end forwarding: logged, tried again
                log.exception("forwarding from %s failed; trying again", intake.channel)
                self._stop.wait(1.0)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(20)
        for intake in self.intakes:
            intake.close()
        for dispatcher in self.dispatchers:
            dispatcher.stop()
        if self.mqtt is not None:
            self.mqtt.stop()
