"""Kafka adapter of the event bus, for deployments (kafka-python).

Delivery while the broker is away
---------------------------------
``publish`` never touches the network. It appends the message to an in-process
queue bounded at ``buffer_max_messages`` (KafkaBusConfig) and returns; one
sender thread hands queued messages to the Kafka producer in publish order and
puts back at the front, in their original order, any message the broker did not
acknowledge, retrying until it does. So an outage of the broker costs no event
as long as this process lives, and nothing blocks for longer than stated:

* ``publish`` waits at most ``max_block_s`` for room when the queue is full and
  then raises ``BusBufferFull`` (the caller decides; nothing is dropped silently);
* ``flush`` waits at most ``timeout_s`` and raises ``BusNotDelivered`` naming
  how many messages are still waiting and the last error;
* ``close`` flushes for at most ``close_timeout_s`` and raises
  ``BusNotDelivered`` when messages could not be delivered.

The bound on what an outage can cost is therefore this process's queue: if the
process itself dies while the broker is away, at most ``buffer_max_messages``
undelivered messages are lost. Producers use ``acks='all'`` and, on purpose, no
idempotence (kafka-python supports it since 2.2, but after an expired batch its
idempotent producer may stall until it can bump its epoch; see
``_connected_producer``). What holds: once acknowledged, a message is durable on
every in-sync replica; one request in flight per connection keeps each
partition in publish order while the broker answers; a retry after a lost
acknowledgement, or this class re-sending a failed batch, may write a message
twice or, rarely, put a re-sent message after later ones (at-least-once). Every
consumer upserts by the event's deterministic id, so neither changes the result.

Messages are keyed (sightings by ``entry_id``), so one person's events share a
partition and keep their order. Consumers never auto-commit: ``commit`` is
called by the caller after its durable write (at-least-once delivery).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from kafka.partitioner.default import DefaultPartitioner, murmur2
from kafka.errors import (
    Cancelled,
    CommitFailedError,
    InvalidTopicError,
    KafkaError,
    MessageSizeTooLargeError,
    TopicAlreadyExistsError,
    TopicAuthorizationFailedError,
)

from facetrail.bus.base import BusError, Record
from facetrail.bus.channels import TOPICS
from facetrail.config import KafkaBusConfig

log = logging.getLogger(__name__)

# Partitions per topic, as each channel declares them (bus/channels.py).
DEFAULT_TOPICS: dict[str, int] = {topic.name: topic.partitions for topic in TOPICS}

# How long one attempt may wait on the network; every loop retries after it.
_CONNECT_TIMEOUT_MS = 2_000
_SEND_BLOCK_MS = 1_000
_DELIVERY_TIMEOUT_MS = 30_000
_REQUEST_TIMEOUT_MS = 10_000
_RETRY_PAUSE_S = 0.5
_CONSUMER_REQUEST_TIMEOUT_MS = 15_000  # bounds the metadata wait before joining (default 305 s)
_RECONNECT_BACKOFF_MAX_MS = 2_000  # a broker that comes back is noticed within ~2 s

# The broker will never take these messages however often they are sent.
_PERMANENT = (MessageSizeTooLargeError, InvalidTopicError, TopicAuthorizationFailedError)

# kafka-python's own work per message is pure Python; what it spends per byte (compression, the
# CRC-32C of every record batch) runs in C: zstd, and the `crc32c` package, a dependency for this
# reason (without it kafka-python computes the checksum byte by byte in Python: 10 us a message).
# Compression shrinks our JSON about six times, and large batches spread the per-request work over
# more messages. zstd rather than gzip: as small, and kafka-python runs gzip at level 9, whose
# compression alone cost 15 us a message; zstd needs a tenth of that.
_COMPRESSION = "zstd"
_BATCH_BYTES = 256 * 1024
_LINGER_MS = 5  # alerts still leave within a few milliseconds of their batch
_HAND_OVER_CHUNK = 256  # messages moved from the bus's queue to the producer per lock round


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


@dataclass(frozen=True)
class _Message:
    seq: int
    topic: str
    key: str
    value: bytes


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


class _CachedKeyPartitioner(DefaultPartitioner):
    """kafka-python's default partitioner (Java-compatible murmur2), remembering each key's hash.

    Keys are entry ids and camera ids, a few thousand at most, and murmur2 is pure Python (~6 us a
    message); the partition chosen for a key is exactly the default's.
    """

    _MAX_KEYS = 100_000

    def __init__(self) -> None:
        self._hashes: dict[bytes, int] = {}

    def partition(self, topic, key, serialized_key, value, serialized_value, cluster):
        if serialized_key is None:
            return super().partition(topic, key, serialized_key, value, serialized_value, cluster)
        if topic not in cluster.topics():
            raise ValueError(f"Topic {topic} not found in ClusterMetadata")
        all_partitions = sorted(cluster.partitions_for_topic(topic))
        return all_partitions[self._hash(serialized_key) % len(all_partitions)]

    def _hash(self, serialized_key: bytes) -> int:
        known = self._hashes.get(serialized_key)
        if known is None:
            if len(self._hashes) >= self._MAX_KEYS:
                self._hashes.clear()  # unbounded key sets (not ours) only lose the cache
            known = self._hashes[serialized_key] = murmur2(serialized_key) & 0x7FFFFFFF
        return known


class KafkaBusConsumer:
    """One member of a consumer group on one topic; joins lazily, so a missing broker only means empty polls."""

    def __init__(self, config: KafkaBusConfig, topic: str, group: str):
        self._config = config
        self._name = topic
        self._topic = config.topic(topic)
        self._group = config.group(group)
        self._consumer: KafkaConsumer | None = None
        self._warned = False

    def _connected(self) -> KafkaConsumer | None:
        if self._consumer is not None:
            return self._consumer
        try:
            consumer = KafkaConsumer(
                bootstrap_servers=self._config.bootstrap_servers,
                client_id=self._config.client_id,
                group_id=self._group,
                enable_auto_commit=False,  # commit() after the caller's durable write, never before
                auto_offset_reset="earliest",
                bootstrap_timeout_ms=_CONNECT_TIMEOUT_MS,
                reconnect_backoff_max_ms=_RECONNECT_BACKOFF_MAX_MS,
                session_timeout_ms=10_000,
                # A rebalance stops every member until all have rejoined, and a member still consuming
                # hears of it only at its next heartbeat: at 3 s the bench saw one trajectory process wait
                # 1.9 s for its partner (as the camera workers' group does, bus/assignment.py).
                heartbeat_interval_ms=1_000,
                request_timeout_ms=_CONSUMER_REQUEST_TIMEOUT_MS,
                # Every fetched batch's CRC-32C is checked (kafka-python's default), which guards
                # against a broker's disk gone bad; with the `crc32c` package it costs next to
                # nothing (in pure Python it was 14 % of the trajectory service's time).
                check_crcs=True,
            )
            # Join the group only once this member knows the topic's partitions: one that joins
            # first is assigned nothing and rejoins only after a metadata refresh.
            if not consumer.partitions_for_topic(self._topic):
                consumer.close(autocommit=False)
                raise KafkaError(f"no partitions known yet for topic {self._topic}")
            consumer.subscribe([self._topic])
        except KafkaError as exc:
            self._note_unreachable(exc)
            return None
        self._consumer = consumer
        return consumer

    def poll(self, timeout_s: float, max_records: int = 500) -> list[Record]:
        consumer = self._connected()
        if consumer is None:
            return []
        try:
            batches = consumer.poll(timeout_ms=int(timeout_s * 1000), max_records=max_records)
        except KafkaError as exc:
            # kafka-python raises while it cannot reach the group coordinator (a broker outage);
            # the member keeps its place and its uncommitted records, and the next poll retries.
            self._note_unreachable(exc)
            time.sleep(min(timeout_s, _RETRY_PAUSE_S))
            return []
        self._warned = False
        records = [
            Record(topic=self._name, key=(msg.key or b"").decode(), value=msg.value,
                   offset=msg.offset, partition=msg.partition)
            for partition_records in batches.values()
            for msg in partition_records
        ]
        return sorted(records, key=lambda r: (r.partition, r.offset))

    def commit(self) -> None:
        if self._consumer is None:
            return
        try:
            self._consumer.commit()
        except CommitFailedError as exc:
            # The group rebalanced since the poll: the new owner gets these records again,
            # which is harmless because consumers upsert by event id.
            log.warning("commit for group %s lost to a rebalance (records will be redelivered): %s",
                        self._group, exc)
        except KafkaError as exc:  # the broker went away after the poll: the records come again, as above
            self._note_unreachable(exc)

    def _note_unreachable(self, exc: KafkaError) -> None:
        if not self._warned:
            log.warning("Kafka at %s not reachable for group %s: %s; retrying on each poll",
                        self._config.bootstrap_servers, self._group, exc)
            self._warned = True

    def assignment(self) -> set[int]:
        """Partitions of the topic this member currently owns."""
        if self._consumer is None:
            return set()
        return {tp.partition for tp in self._consumer.assignment()}

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close(autocommit=False)
            self._consumer = None


class KafkaBus:
    """EventBus on Kafka: bounded in-process queue, ordered per key, retried until acknowledged."""

    def __init__(self, config: KafkaBusConfig, *, max_block_s: float = 5.0, close_timeout_s: float = 10.0):
        self.config = config
        self._max_block_s = max_block_s
        self._close_timeout_s = close_timeout_s
        self._queue: deque[_Message] = deque()
        self._in_flight: dict[int, _Message] = {}
        self._failed: list[_Message] = []
        self._rejected: list[_Message] = []
        self._seq = 0
        self._last_error: str = ""
        self._cond = threading.Condition()
        self._closing = False
        self._producer: KafkaProducer | None = None
        self._sender = threading.Thread(target=self._send_loop, name="kafka-bus-sender", daemon=True)
        self._sender.start()

    # ---- EventBus -------------------------------------------------------

    def publish(self, topic: str, key: str, value: bytes) -> None:
        self.publish_many(topic, [(key, value)])

    def publish_many(self, topic: str, messages: list[tuple[str, bytes]]) -> None:
        """Queue the messages in order under one lock; the sender thread is woken once, not per message.

        Each message waits for room like ``publish`` (at most ``max_block_s`` in all); on BusBufferFull
        the messages queued before it stay queued.
        """
        deadline = time.monotonic() + self._max_block_s
        with self._cond:
            for key, value in messages:
                self._wait_for_room_locked(deadline)
                self._seq += 1
                self._queue.append(_Message(self._seq, self.config.topic(topic), key, bytes(value)))
            self._cond.notify_all()

    def _wait_for_room_locked(self, deadline: float) -> None:
        if self._closing:
            raise BusError("publish on a closed Kafka bus")
        while self._pending_locked() >= self.config.buffer_max_messages:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BusBufferFull(
                    f"Kafka bus buffer full ({self.config.buffer_max_messages} messages waiting for "
                    f"{self.config.bootstrap_servers}); last error: {self._last_error or 'none'}")
            self._cond.notify_all()  # the sender may not know yet of what this batch queued so far
            self._cond.wait(left)

    def flush(self, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            self._raise_rejected_locked()
            while self._pending_locked():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BusNotDelivered(
                        f"{self._pending_locked()} message(s) not yet acknowledged by Kafka at "
                        f"{self.config.bootstrap_servers} after {timeout_s:g}s (kept queued); "
                        f"last error: {self._last_error or 'none'}")
                self._cond.wait(min(left, 0.5))
            self._raise_rejected_locked()

    def _raise_rejected_locked(self) -> None:
        """Messages the broker refused for good are reported once, by the next flush or close."""
        if self._rejected:
            count, self._rejected = len(self._rejected), []
            raise BusNotDelivered(f"Kafka refused {count} message(s) for good: {self._last_error}")

    def consumer(self, topic: str, group: str) -> KafkaBusConsumer:
        return KafkaBusConsumer(self.config, topic, group)

    def close(self) -> None:
        problem: BusNotDelivered | None = None
        try:
            self.flush(self._close_timeout_s)
        except BusNotDelivered as exc:
            problem = exc
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._sender.join(timeout=5.0)
        if problem is not None:
            raise BusNotDelivered(f"Kafka bus closed with messages lost: {problem}")

    # ---- introspection ---------------------------------------------------

    def pending(self) -> int:
        """Messages published here and not yet acknowledged by the broker."""
        with self._cond:
            return self._pending_locked()

    def _pending_locked(self) -> int:
        return len(self._queue) + len(self._in_flight) + len(self._failed)

    # ---- sender thread -----------------------------------------------------

    def _send_loop(self) -> None:
        while True:
            with self._cond:
                self._requeue_failed_locked()
                while not self._queue and not self._failed and not self._closing:
                    self._cond.wait(0.5)
                    self._requeue_failed_locked()
                if self._closing:
                    break
            producer = self._connected_producer()
            if producer is None:
                time.sleep(_RETRY_PAUSE_S)
                continue
            if not self._hand_over(producer):
                time.sleep(_RETRY_PAUSE_S)
        if self._producer is not None:
            self._producer.close(timeout=2)
            self._producer = None

    def _requeue_failed_locked(self) -> None:
        """Failed messages go back to the front, oldest first, so per-key order survives a retry."""
        if self._failed:
            for message in sorted(self._failed, key=lambda m: m.seq, reverse=True):
                self._queue.appendleft(message)
            self._failed.clear()

    def _connected_producer(self) -> KafkaProducer | None:
        if self._producer is not None:
            return self._producer
        try:
            self._producer = KafkaProducer(
                bootstrap_servers=self.config.bootstrap_servers,
                client_id=self.config.client_id,
                acks="all",
                # Not idempotent: after a batch expires (broker away longer than the delivery
                # timeout) kafka-python's idempotent producer must bump its epoch before it sends
                # that partition again, and it could wait for that indefinitely when the broker was
                # still starting (a worker delivered nothing for over a minute after a 30 s outage).
                # One request in flight keeps each partition in order; a retry that duplicates a
                # message is harmless, since every consumer upserts by event id.
                enable_idempotence=False,
                retries=2_147_483_647,  # bounded by delivery_timeout_ms; then this class re-sends
                max_in_flight_requests_per_connection=1,
                delivery_timeout_ms=_DELIVERY_TIMEOUT_MS,
                request_timeout_ms=_REQUEST_TIMEOUT_MS,
                max_block_ms=_SEND_BLOCK_MS,
                bootstrap_timeout_ms=_CONNECT_TIMEOUT_MS,
                reconnect_backoff_max_ms=_RECONNECT_BACKOFF_MAX_MS,
                linger_ms=_LINGER_MS,
                batch_size=_BATCH_BYTES,
                compression_type=_COMPRESSION,
                partitioner=_CachedKeyPartitioner(),
            )
        except KafkaError as exc:
            self._note_error(exc)
            return None
        return self._producer

    def _hand_over(self, producer: KafkaProducer) -> bool:
        """Move queued messages into the producer; False when the broker cannot take them now."""
        while True:
            with self._cond:  # a chunk at a time: one lock round per message cost as much as the send
                if not self._queue or self._closing:
                    return True
                chunk = [self._queue.popleft() for _ in range(min(len(self._queue), _HAND_OVER_CHUNK))]
                self._in_flight.update((message.seq, message) for message in chunk)
            for index, message in enumerate(chunk):
                try:
                    future = producer.send(message.topic, key=message.key.encode(), value=message.value)
                except KafkaError as exc:  # e.g. no metadata for the topic: broker away or topic missing
                    self._put_back(chunk[index + 1:])
                    self._retry_later(message, exc)
                    return isinstance(exc, _PERMANENT)
                future.add_callback(self._acknowledged, message)
                future.add_errback(self._not_acknowledged, message)

    def _put_back(self, messages: list[_Message]) -> None:
        """Messages taken for sending but not sent go back to the front of the queue, in order."""
        with self._cond:
            for message in reversed(messages):
                self._in_flight.pop(message.seq, None)
                self._queue.appendleft(message)

    def _retry_later(self, message: _Message, exc: Exception) -> None:
        self._note_error(exc)
        with self._cond:
            if self._in_flight.pop(message.seq, None) is not None:
                if isinstance(exc, _PERMANENT):
                    log.error("Kafka rejected a message on %s for good: %s", message.topic, exc)
                    self._rejected.append(message)
                else:
                    self._failed.append(message)
            self._cond.notify_all()

    def _acknowledged(self, message: _Message, _metadata) -> None:
        with self._cond:
            self._in_flight.pop(message.seq, None)
            self._last_error = ""
            # Waking every waiter on every acknowledgement (thousands a second) cost the publishing thread
            # more than the acknowledgements themselves; only two moments matter to them: all delivered
            # (flush), and room again below the buffer's limit (publish). One message leaves per call, so
            # the second moment is never skipped over.
            pending = self._pending_locked()
            if pending == 0 or pending == self.config.buffer_max_messages - 1:
                self._cond.notify_all()

    def _not_acknowledged(self, message: _Message, exc: Exception) -> None:
        self._retry_later(message, exc)

    def _note_error(self, exc: Exception) -> None:
        text = f"{type(exc).__name__}: {exc}"
        if text != self._last_error:
            log.warning("Kafka at %s: %s; messages stay queued and are retried", self.config.bootstrap_servers, text)
        self._last_error = text
