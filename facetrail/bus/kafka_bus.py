"""Kafka adapter of the event bus, for deployments.

Messages travel through librdkafka (the ``confluent-kafka`` client): its producer and consumers do the
per-message work in C. On the bench's broker (2026-12-03, 20,000 alerts) kafka-python's pure-Python
producer spent about 55 us of CPU a message and its consumer 12 us; librdkafka 3-5 us and 2 us, which
halved the trajectory service's CPU per sighting (BENCHMARKS.md, section 5). Topic administration stays
on kafka-python's admin client (``ensure_topics``), as does the camera workers' group (bus/assignment.py).

Delivery while the broker is away
---------------------------------
``publish`` never touches the network. It appends the message to the producer's
queue, bounded at ``buffer_max_messages`` (KafkaBusConfig), and returns; the
producer retries every message until the broker acknowledges it (no delivery
timeout), so an outage of the broker costs no event as long as this process
lives, and nothing blocks for longer than stated:

* ``publish`` waits at most ``max_block_s`` for room when the queue is full and
  then raises ``BusBufferFull`` (the caller decides; nothing is dropped silently);
* ``flush`` waits at most ``timeout_s`` and raises ``BusNotDelivered`` naming
  how many messages are still waiting and the last error;
* ``close`` flushes for at most ``close_timeout_s`` and raises
  ``BusNotDelivered`` when messages could not be delivered.

The bound on what an outage can cost is therefore this process's queue: if the
process itself dies while the broker is away, at most ``buffer_max_messages``
undelivered messages are lost. Producers use ``acks=all`` and idempotence: once
acknowledged, a message is durable on every in-sync replica; retries neither
duplicate a message nor reorder a partition (the broker drops a batch it has
already written, by the producer's id and sequence numbers). A message the
broker refuses for good (too large, topic not allowed) is reported by the next
``flush`` or ``close``.

Messages are keyed (sightings by ``entry_id``) and partitioned as Kafka's Java
client does (murmur2), so one person's events share a partition and keep their
order, whichever client wrote them. Consumers never auto-commit: ``commit`` is
called by the caller after its durable write (at-least-once delivery; every
consumer upserts by the event's deterministic id, so a redelivery changes nothing).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import confluent_kafka
from confluent_kafka import KafkaException, Message, TopicPartition
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from kafka.errors import Cancelled, KafkaError, TopicAlreadyExistsError

from facetrail.bus.base import BusError, Record
from facetrail.bus.channels import TOPICS
from facetrail.config import KafkaBusConfig

log = logging.getLogger(__name__)

# Partitions per topic, as each channel declares them (bus/channels.py).
DEFAULT_TOPICS: dict[str, int] = {topic.name: topic.partitions for topic in TOPICS}

_RETRY_PAUSE_S = 0.5
_CONNECT_TIMEOUT_S = 2.0  # one look for a topic's partitions before joining; polls retry after it
# The least that look may wait, whatever the poll's own timeout: a metadata request needs a round trip, so
# a poll with a 0 s timeout (the health stage's, the live feed's) would time out every look and never join.
_CONNECT_FLOOR_S = 1.0
_JOIN_WAIT_S = 15.0  # the longest a first poll waits for the group to hand this member its partitions
_FIRST_FETCH_S = 1.0  # and then at least this long for their first records
_RECONNECT_BACKOFF_MAX_MS = 2_000  # a broker that comes back is noticed within ~2 s

# Compression shrinks our JSON about six times; zstd as small as gzip for a tenth of its CPU.
# The producer collects a partition's messages for up to 5 ms, so alerts still leave within a few
# milliseconds while a busy service sends few, large requests.
_PRODUCER_SETTINGS = {
    "acks": "all",
    "enable.idempotence": True,
    "message.timeout.ms": 0,  # no delivery timeout: retried until acknowledged, bounded by the queue
    "compression.type": "zstd",
    "linger.ms": 5,
    "partitioner": "murmur2_random",  # Kafka's Java default (and kafka-python's): a key's partition is the same
    "reconnect.backoff.max.ms": _RECONNECT_BACKOFF_MAX_MS,
    "delivery.report.only.error": True,  # acknowledgements need no Python call each; refusals do
}
_CONSUMER_SETTINGS = {
    "enable.auto.commit": False,  # commit() after the caller's durable write, never before
    "enable.auto.offset.store": False,
    "auto.offset.reset": "earliest",
    "session.timeout.ms": 10_000,
    # A rebalance stops every member until all have rejoined, and a member still consuming hears of it
    # only at its next heartbeat (as the camera workers' group does, bus/assignment.py).
    "heartbeat.interval.ms": 1_000,
    "reconnect.backoff.max.ms": _RECONNECT_BACKOFF_MAX_MS,
    # Every fetched batch's CRC-32C is checked, which guards against a broker's disk gone bad.
    "check.crcs": True,
    "queued.max.messages.kbytes": 16_384,  # read-ahead per partition: 16 MiB, not librdkafka's 64
    # librdkafka's 500 ms held a group's first records back by up to half a second when its first fetch
    # went out before every partition's offset was known; the broker answers sooner once records are there.
    "fetch.wait.max.ms": 100,
}
# The group's commit was refused because the group rebalanced since the poll.
_REBALANCED = {confluent_kafka.KafkaError.REBALANCE_IN_PROGRESS, confluent_kafka.KafkaError.ILLEGAL_GENERATION,
               confluent_kafka.KafkaError.UNKNOWN_MEMBER_ID, confluent_kafka.KafkaError._ASSIGNMENT_LOST}
# What close() took back from the producer unsent: already reported by its flush.
_PURGED = {confluent_kafka.KafkaError._PURGE_QUEUE, confluent_kafka.KafkaError._PURGE_INFLIGHT}
# librdkafka's own log lines would repeat every reconnect of an outage; its errors reach us through
# error_cb, which says each kind once (_Errors). Only critical lines pass.
_LIBRDKAFKA_LOG_LEVEL = 2
_LIBRDKAFKA_LOG = logging.getLogger("facetrail.bus.librdkafka")


class _OwnStopFilter(logging.Filter):
    """Drops kafka-python's records about requests it cancelled itself because we closed the client.

    Closing a client with a metadata request in flight fails that request with ``Cancelled``, which
    kafka-python logs at ERROR ('Metadata refresh: failed Cancelled'): every clean stop of a worker
    logged two. A lost broker fails requests with connection errors instead, which still get through.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        return not any(isinstance(arg, Cancelled) for arg in args)


for _name in ("kafka.cluster", "kafka.net.manager", "kafka.net.connection"):
    logging.getLogger(_name).addFilter(_OwnStopFilter())


class BusBufferFull(BusError):
    pass


class BusNotDelivered(BusError):
    pass


@contextmanager
def _kafka_logs_quiet() -> Iterator[None]:
    """kafka-python's own logs are silent inside (for steps whose outcome facetrail reports itself)."""
    library = logging.getLogger("kafka")
    before = library.level
    library.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        library.setLevel(before)


def ensure_topics(bootstrap_servers: str, topics: dict[str, int] | None = None, *,
                  replication_factor: int = 1, timeout_s: float = 30.0, retention_ms: int | None = None,
                  prefix: str = "") -> list[str]:
    """Create the topics that do not exist yet (partitions as given); return the names created.

    With retention_ms, every given topic (new or existing) keeps messages no longer than that,
    so the bus honours the same retention limits as the database. Names get `prefix`
    (KafkaBusConfig.topic_prefix) in front, as the bus does when it uses them.
    """
    wanted = {prefix + name: count for name, count in (DEFAULT_TOPICS if topics is None else topics).items()}
    try:
        with _kafka_logs_quiet():  # each failed attempt is an ERROR line there; the outcome is said once below
            admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="facetrail-admin",
                                     bootstrap_timeout_ms=int(timeout_s * 1000),
                                     request_timeout_ms=int(timeout_s * 1000))
    except KafkaError as exc:
        raise BusError(f"cannot reach Kafka at {bootstrap_servers} ({exc}): start the broker "
                       "(`make services-up` starts the bundled one) or correct bus.bootstrap_servers") from None
    settings = {} if retention_ms is None else {"retention.ms": str(int(retention_ms))}
    try:
        missing = sorted(set(wanted) - set(admin.list_topics()))
        if missing:
            new = [NewTopic(name, wanted[name], replication_factor, topic_configs=settings) for name in missing]
            try:
                admin.create_topics(new, timeout_ms=int(timeout_s * 1000))
            except TopicAlreadyExistsError:
                pass  # another process created them between our look and our create
            _wait_for_leaders(admin, missing, time.monotonic() + timeout_s)
        if settings:
            admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, name, configs=settings)
                                 for name in sorted(set(wanted) - set(missing))], incremental=True)
        return missing
    finally:
        admin.close()


def ensure_bus_topics(config: KafkaBusConfig, retention_ms: int | None, timeout_s: float = 15.0) -> list[str]:
    """The topics a deployment's commands publish to and consume from, created if missing with their
    partitions, and kept no longer than retention_ms (idempotent); returns the broker's names of those created."""
    return ensure_topics(config.bootstrap_servers, DEFAULT_TOPICS, timeout_s=timeout_s, retention_ms=retention_ms,
                         prefix=config.topic_prefix)


def _wait_for_leaders(admin: KafkaAdminClient, topics: list[str], deadline: float) -> None:
    """Return once every partition of the new topics has a leader.

    A consumer that joins its group before that is assigned none of the topic's
    partitions and rejoins only on a later metadata refresh; a broker outage in
    between can leave a service consuming nothing.
    """
    while True:
        described = admin.describe_topics(topics)
        if all(t["error_code"] == 0 and t["partitions"] and all(p["leader_id"] >= 0 for p in t["partitions"])
               for t in described):
            return
        if time.monotonic() > deadline:
            raise BusError(f"Kafka created {', '.join(topics)} but gave not every partition a leader in time")
        time.sleep(0.1)


class _Errors:
    """What librdkafka reported last: one line when a client's trouble starts (a broker outage reports several
    kinds of error, each many times), one when it works again."""

    def __init__(self, what: str):
        self._what = what
        self._said: set[str] = set()
        self.last = ""

    def note(self, error: confluent_kafka.KafkaError) -> None:
        self.last = f"{error.name()}: {error.str()}"
        if not self._said:
            log.warning("Kafka at %s: %s; retrying", self._what, self.last)
        self._said.add(error.name())

    def clear(self) -> None:
        if self._said:
            log.warning("Kafka at %s: working again", self._what)
        self._said.clear()
        self.last = ""


def _client_settings(config: KafkaBusConfig, errors: _Errors) -> dict[str, object]:
    return {"bootstrap.servers": config.bootstrap_servers, "client.id": config.client_id,
            "error_cb": errors.note, "logger": _LIBRDKAFKA_LOG, "log_level": _LIBRDKAFKA_LOG_LEVEL}


class KafkaBusConsumer:
    """One member of a consumer group on one topic; joins lazily, so a missing broker only means empty polls."""

    def __init__(self, config: KafkaBusConfig, topic: str, group: str):
        self._config = config
        self._name = topic
        self._topic = config.topic(topic)
        self._group = config.group(group)
        self._errors = _Errors(f"{config.bootstrap_servers} (group {self._group})")
        self._consumer: confluent_kafka.Consumer | None = None
        self._subscribed = False
        self._joined = False
        self._owned: frozenset[int] = frozenset()
        """Partitions assigned, as the group's callbacks told the polling thread: another thread may read it
        (asking librdkafka there could wait on a rebalance callback that needs this thread's interpreter lock)."""
        self._next: dict[int, int] = {}
        """Partition -> the offset after the last record polled from it: what commit() commits."""

    def _connected(self, timeout_s: float) -> confluent_kafka.Consumer | None:
        if self._consumer is None:
            self._consumer = confluent_kafka.Consumer(
                {**_client_settings(self._config, self._errors), **_CONSUMER_SETTINGS, "group.id": self._group})
        if not self._subscribed:
            # Join the group only once this member knows the topic's partitions: one that joins first is
            # assigned nothing until its next metadata refresh.
            try:
                known = self._consumer.list_topics(
                    self._topic, timeout=max(_CONNECT_FLOOR_S, min(timeout_s, _CONNECT_TIMEOUT_S)))
            except KafkaException as exc:
                if exc.args[0].code() != confluent_kafka.KafkaError._TIMED_OUT:
                    self._errors.note(exc.args[0])
                # A look that timed out is no fault of its own: an unreachable broker is reported by error_cb
                # (connection refused, all brokers down), once; the next poll looks again.
                return None
            topic = known.topics.get(self._topic)
            if topic is None or topic.error is not None or not topic.partitions:
                return None
            self._consumer.subscribe([self._topic], on_assign=self._assigned, on_revoke=self._forget,
                                     on_lost=self._forget)
            self._subscribed = True
        return self._consumer

    def _assigned(self, _consumer: confluent_kafka.Consumer, partitions: list[TopicPartition]) -> None:
        self._joined = True
        self._owned = self._owned | {partition.partition for partition in partitions}

    def _forget(self, _consumer: confluent_kafka.Consumer, partitions: list[TopicPartition]) -> None:
        """Partitions taken away are not committed by this member again: their new owner commits them."""
        self._owned = self._owned - {partition.partition for partition in partitions}
        for partition in partitions:
            self._next.pop(partition.partition, None)

    def poll(self, timeout_s: float, max_records: int = 500) -> list[Record]:
        """Waits up to timeout_s for the first record, then takes at most max_records of what has arrived."""
        started = time.monotonic()
        consumer = self._connected(timeout_s)
        if consumer is None:
            time.sleep(max(0.0, min(timeout_s, _RETRY_PAUSE_S) - (time.monotonic() - started)))
            return []
        messages = consumer.consume(max_records, 0)
        if not messages:
            first = self._first(consumer, started, timeout_s)
            messages = [] if first is None else [first, *consumer.consume(max_records - 1, 0)]
        records = []
        for message in messages:
            error = message.error()
            if error is not None:
                self._errors.note(error)
                continue
            records.append(self._record(message))
        if records:
            self._errors.clear()
        return sorted(records, key=lambda r: (r.partition, r.offset))

    def _first(self, consumer: confluent_kafka.Consumer, started: float, timeout_s: float) -> Message | None:
        """The next message within timeout_s; a member still joining its group first waits (up to _JOIN_WAIT_S)
        for its partitions, so a caller that stops at the first quiet poll (``--drain``) does not stop before
        it has been given anything to read."""
        joining = not self._joined and timeout_s > 0  # a 0 s poll (a stage stepping others) never waits
        deadline = started + (max(timeout_s, _JOIN_WAIT_S) if joining else timeout_s)
        while (left := deadline - time.monotonic()) > 0:
            message = consumer.poll(min(left, 0.1) if joining else left)  # group callbacks run in here
            if message is not None:
                return message
            if joining and self._joined:  # the partitions' first records follow their offsets' look-up
                joining, deadline = False, time.monotonic() + max(timeout_s, _FIRST_FETCH_S)
        return None

    def _record(self, message: Message) -> Record:
        key, partition, offset = message.key(), message.partition(), message.offset()
        self._next[partition] = offset + 1
        return Record(topic=self._name, key=key.decode() if key else "", value=message.value(),
                      offset=offset, partition=partition)

    def commit(self) -> None:
        if self._consumer is None or not self._next:
            return
        offsets = [TopicPartition(self._topic, partition, offset) for partition, offset in self._next.items()]
        try:
            self._consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            error = exc.args[0]
            if error.code() in _REBALANCED:
                # The new owner gets these records again, which is harmless: consumers upsert by event id.
                log.warning("commit for group %s lost to a rebalance (records will be redelivered): %s",
                            self._group, error.str())
            else:  # the broker went away after the poll: the records come again, as above
                self._errors.note(error)
            return
        self._next.clear()

    def lag(self) -> int | None:
        """Messages of this member's partitions after the group's committed offsets; None before it has joined
        (or while the broker cannot say)."""
        if self._consumer is None or not self._joined:
            return None
        partitions = [TopicPartition(self._topic, partition) for partition in sorted(self._owned)]
        try:
            committed = self._consumer.committed(partitions, timeout=_CONNECT_TIMEOUT_S * 2)
            total = 0
            for partition in committed:
                low, high = self._consumer.get_watermark_offsets(partition, timeout=_CONNECT_TIMEOUT_S * 2,
                                                                 cached=False)
                total += max(0, high - (partition.offset if partition.offset >= 0 else low))
        except KafkaException as exc:
            self._errors.note(exc.args[0])
            return None
        return total

    def assignment(self) -> set[int]:
        """Partitions of the topic this member currently owns."""
        return set(self._owned)

    def close(self) -> None:
        """Leave the group at once (without committing), so a partner takes these partitions over."""
        if self._consumer is not None:
            self._consumer.close()
            self._consumer, self._subscribed, self._owned = None, False, frozenset()
            self._next.clear()


class KafkaBus:
    """EventBus on Kafka: a bounded queue in the producer, ordered per key, retried until acknowledged."""

    def __init__(self, config: KafkaBusConfig, *, max_block_s: float = 5.0, close_timeout_s: float = 10.0):
        self.config = config
        self._max_block_s = max_block_s
        self._close_timeout_s = close_timeout_s
        self._errors = _Errors(config.bootstrap_servers)
        self._lock = threading.Lock()
        self._refused: list[str] = []
        self._closed = False
        self._producer = confluent_kafka.Producer({
            **_client_settings(config, self._errors), **_PRODUCER_SETTINGS,
            "queue.buffering.max.messages": config.buffer_max_messages,
            "on_delivery": self._refusal})

    # ---- EventBus -------------------------------------------------------

    def publish(self, topic: str, key: str, value: bytes) -> None:
        self.publish_many(topic, [(key, value)])

    def publish_many(self, topic: str, messages: list[tuple[str, bytes]]) -> None:
        """Queue the messages in order; each waits for room like ``publish`` (at most ``max_block_s`` in all).

        On BusBufferFull the messages queued before it stay queued.
        """
        if self._closed:
            raise BusError("publish on a closed Kafka bus")
        name, produce = self.config.topic(topic), self._producer.produce
        deadline = time.monotonic() + self._max_block_s
        for key, value in messages:
            while True:
                try:
                    produce(name, value, key)
                    break
                except BufferError:
                    self._wait_for_room(deadline)
        self._producer.poll(0)  # serve what the producer reported meanwhile (refusals, errors)

    def _wait_for_room(self, deadline: float) -> None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise BusBufferFull(
                f"Kafka bus buffer full ({self.config.buffer_max_messages} messages waiting for "
                f"{self.config.bootstrap_servers}); last error: {self._errors.last or 'none'}")
        self._producer.poll(min(left, 0.05))

    def flush(self, timeout_s: float = 10.0) -> None:
        self._raise_refused()
        waiting = self.pending()
        left = self._producer.flush(timeout_s) and self.pending()
        if left:
            raise BusNotDelivered(
                f"{left} message(s) not yet acknowledged by Kafka at {self.config.bootstrap_servers} after "
                f"{timeout_s:g}s (kept queued); last error: {self._errors.last or 'none'}")
        self._raise_refused()
        if waiting:
            # Only an acknowledgement shows the broker is back: an empty queue flushes at once while it is away.
            self._errors.clear()

    def _refusal(self, error: confluent_kafka.KafkaError | None, message: Message) -> None:
        """Called by the producer for each message the broker refused for good (only those: see settings)."""
        if error is not None and error.code() not in _PURGED:
            log.error("Kafka rejected a message on %s for good: %s", message.topic(), error.str())
            with self._lock:
                self._refused.append(f"{error.name()}: {error.str()}")

    def _raise_refused(self) -> None:
        """Messages the broker refused for good are reported once, by the next flush or close."""
        with self._lock:
            refused, self._refused = self._refused, []
        if refused:
            raise BusNotDelivered(f"Kafka refused {len(refused)} message(s) for good: {refused[-1]}")

    def consumer(self, topic: str, group: str) -> KafkaBusConsumer:
        return KafkaBusConsumer(self.config, topic, group)

    def close(self) -> None:
        if self._closed:
            return
        try:
            self.flush(self._close_timeout_s)
        except BusNotDelivered as exc:
            raise BusNotDelivered(f"Kafka bus closed with messages lost: {exc}") from None
        finally:
            self._closed = True
            self._producer.purge()  # what is left is lost, as said; nothing waits for it on exit
            self._producer.flush(0)

    # ---- introspection ---------------------------------------------------

    def pending(self) -> int:
        """Messages published here and not yet acknowledged by the broker."""
        # librdkafka's count includes reports not yet handed to us (an error while the broker is away):
        # handing them over first leaves the messages alone.
        self._producer.poll(0)
        return len(self._producer)
