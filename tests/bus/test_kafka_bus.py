"""KafkaBus against a real single-node Kafka started by scripts/services."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from facetrail.bus.kafka_bus import DEFAULT_TOPICS, BusBufferFull, BusNotDelivered, KafkaBus, ensure_topics
from facetrail.bus.select import open_bus
from facetrail.config import KafkaBusConfig
from services_fixtures import ENV_FILE, run_services

services = pytest.mark.services


def fresh_topic(bootstrap: str, partitions: int = 1) -> str:
    topic = f"test.{uuid.uuid4().hex[:12]}"
    ensure_topics(bootstrap, {topic: partitions})
    return topic


def bus_for(bootstrap: str, **settings) -> KafkaBus:
    return KafkaBus(KafkaBusConfig(kind="kafka", bootstrap_servers=bootstrap, client_id="facetrail-test"), **settings)


def poll_until(consumer, count: int, timeout_s: float = 30.0) -> list:
    records, deadline = [], time.monotonic() + timeout_s
    while len(records) < count and time.monotonic() < deadline:
        records += consumer.poll(1.0)
    return records


def read_back(bus: KafkaBus, topic: str, group: str, count: int) -> list:
    """What a new member of `group` consumes from `topic` (until `count` records or 30 s)."""
    consumer = bus.consumer(topic, group)
    try:
        return poll_until(consumer, count)
    finally:
        consumer.close()


@pytest.fixture
def bus(kafka_service):
    kafka_bus = bus_for(kafka_service.kafka_bootstrap)
    yield kafka_bus
    kafka_bus.close()


@services
def test_a_published_message_comes_back_to_a_consumer_with_its_key_and_value(kafka_service, bus):
    topic = fresh_topic(kafka_service.kafka_bootstrap)
    bus.publish(topic, "entry-1", b'{"n": 1}')
    bus.flush()
    records = read_back(bus, topic, "round-trip", 1)
    assert [(r.topic, r.key, r.value, r.offset) for r in records] == [(topic, "entry-1", b'{"n": 1}', 0)]


@services
def test_messages_of_one_key_stay_on_one_partition_in_publish_order(kafka_service, bus):
    topic = fresh_topic(kafka_service.kafka_bootstrap, partitions=4)
    for n in range(60):
        bus.publish(topic, f"entry-{n % 5}", str(n).encode())
    bus.flush()
    records = read_back(bus, topic, "ordering", 60)
    assert len(records) == 60
    for key in {r.key for r in records}:
        mine = [r for r in records if r.key == key]
        assert len({r.partition for r in mine}) == 1
        values = [int(r.value) for r in sorted(mine, key=lambda r: r.offset)]
        assert values == sorted(values)


@services
def test_publish_many_delivers_its_messages_in_order_after_one_flush(kafka_service, bus):
    topic = fresh_topic(kafka_service.kafka_bootstrap)
    bus.publish(topic, "entry-1", b"0")
    bus.publish_many(topic, [("entry-1", str(n).encode()) for n in range(1, 50)])
    bus.flush()
    records = read_back(bus, topic, "many", 50)
    assert [int(r.value) for r in records] == list(range(50))


@services
def test_a_publisher_waiting_for_room_in_a_small_buffer_goes_on_as_the_broker_acknowledges(kafka_service):
    topic = fresh_topic(kafka_service.kafka_bootstrap)
    small = KafkaBus(KafkaBusConfig(kind="kafka", bootstrap_servers=kafka_service.kafka_bootstrap,
                                    client_id="facetrail-test", buffer_max_messages=3), max_block_s=60)
    try:
        small.publish_many(topic, [("entry-1", str(n).encode()) for n in range(300)])  # a lost wake-up: BusBufferFull
        small.flush()
    finally:
        small.close()
    records = read_back(small, topic, "small-buffer", 300)
    assert [int(r.value) for r in records] == list(range(300))


def first_batch_header(topic: str) -> bytes:
    """The first record batch's header (format v2) in the broker's log of the topic's partition 0."""
    segment = ENV_FILE.parent / "kafka-data" / f"{topic}-0" / "00000000000000000000.log"
    header = segment.read_bytes()[:61]
    assert header[16] == 2  # the magic byte: format v2
    return header


@services
def test_batches_reach_the_broker_zstd_compressed(kafka_service, bus):
    topic = fresh_topic(kafka_service.kafka_bootstrap)
    bus.publish_many(topic, [("entry-1", b'{"n": %d}' % n) for n in range(20)])
    bus.flush()
    # Base offset (8), length (4), leader epoch (4), magic (1), CRC (4), then the attributes (2).
    attributes = int.from_bytes(first_batch_header(topic)[21:23], "big")
    assert attributes & 0x07 == 4  # the codec bits: 4 is zstd


@services
def test_batches_reach_the_broker_from_an_idempotent_producer(kafka_service, bus):
    topic = fresh_topic(kafka_service.kafka_bootstrap)
    bus.publish_many(topic, [("entry-1", b'{"n": %d}' % n) for n in range(20)])
    bus.flush()
    # After the attributes: last offset delta (4), two timestamps (8 each), producer id (8), epoch (2), sequence (4).
    header = first_batch_header(topic)
    producer_id, base_sequence = int.from_bytes(header[43:51], "big", signed=True), int.from_bytes(header[53:57], "big")
    assert producer_id >= 0 and base_sequence == 0  # a producer without idempotence writes id -1


@services
def test_a_consumer_that_did_not_commit_gets_the_same_messages_again_after_reopening(kafka_service, bus):
    topic = fresh_topic(kafka_service.kafka_bootstrap)
    for n in range(3):
        bus.publish(topic, "entry-1", str(n).encode())
    bus.flush()
    first = bus.consumer(topic, "no-commit")
    seen = poll_until(first, 3)
    first.close()
    again = bus.consumer(topic, "no-commit")
    redelivered = poll_until(again, 3)
    again.close()
    assert [r.value for r in redelivered] == [r.value for r in seen] == [b"0", b"1", b"2"]


@services
def test_a_consumer_resumes_after_its_last_commit(kafka_service, bus):
    topic = fresh_topic(kafka_service.kafka_bootstrap)
    for n in range(3):
        bus.publish(topic, "entry-1", str(n).encode())
    bus.flush()
    first = bus.consumer(topic, "commits")
    assert len(poll_until(first, 3)) == 3
    first.commit()
    first.close()
    bus.publish(topic, "entry-1", b"3")
    bus.flush()
    again = bus.consumer(topic, "commits")
    records = poll_until(again, 1)
    assert again.poll(2.0) == []
    again.close()
    assert [r.value for r in records] == [b"3"]


def _poll_in_background(consumer, stop: threading.Event, sink: list) -> threading.Thread:
    def loop():
        while not stop.is_set():
            records = consumer.poll(0.5)
            sink.extend(records)
            if records:
                consumer.commit()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


@services
def test_two_consumers_in_one_group_split_the_partitions_between_them(kafka_service, bus):
    topic = fresh_topic(kafka_service.kafka_bootstrap, partitions=4)
    members = [bus.consumer(topic, "split"), bus.consumer(topic, "split")]
    received: list[list] = [[], []]
    stop = threading.Event()
    threads = [_poll_in_background(c, stop, sink) for c, sink in zip(members, received)]
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not all(len(m.assignment()) == 2 for m in members):
            time.sleep(0.2)
        owned = [m.assignment() for m in members]
        for n in range(80):
            bus.publish(topic, f"entry-{n}", str(n).encode())
        bus.flush()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(received[0]) + len(received[1]) < 80:
            time.sleep(0.2)
    finally:
        stop.set()
        for thread in threads:
            thread.join(5)
        for member in members:
            member.close()
    assert owned[0] | owned[1] == {0, 1, 2, 3} and not owned[0] & owned[1]
    for sink, partitions in zip(received, owned):
        assert sink and {r.partition for r in sink} <= partitions
    assert sorted(int(r.value) for r in received[0] + received[1]) == list(range(80))


@services
def test_messages_published_while_the_broker_is_down_are_delivered_once_it_is_back(kafka_service, bus):
    topic = fresh_topic(kafka_service.kafka_bootstrap)
    bus.publish(topic, "entry-1", b"before")
    bus.flush()
    down = run_services("down", "kafka", timeout_s=120)
    assert down.returncode == 0, down.stderr
    try:
        late_bus = bus_for(kafka_service.kafka_bootstrap)  # never saw the broker at all
        started = time.monotonic()
        bus.publish(topic, "entry-1", b"during-1")
        late_bus.publish(topic, "entry-2", b"during-2")
        assert time.monotonic() - started < 1.0  # publish does not wait for the broker
        with pytest.raises(BusNotDelivered, match="not yet acknowledged"):
            bus.flush(timeout_s=2.0)
        time.sleep(3)
    finally:
        up = run_services("up", "kafka", timeout_s=300)
    assert up.returncode == 0, up.stderr
    bus.flush(timeout_s=60)
    late_bus.flush(timeout_s=60)
    late_bus.close()
    consumer = bus.consumer(topic, "outage")
    values = sorted(r.value for r in poll_until(consumer, 3, timeout_s=60))
    consumer.close()
    assert values == [b"before", b"during-1", b"during-2"]


def test_publish_waits_no_longer_than_its_bound_when_the_buffer_is_full():
    # Nothing listens on port 9 of loopback: a broker that never answers.
    config = KafkaBusConfig(kind="kafka", bootstrap_servers="127.0.0.1:9", buffer_max_messages=2)
    bus = KafkaBus(config, max_block_s=0.5, close_timeout_s=0.5)
    bus.publish("facetrail.sightings.v1", "entry-1", b"1")
    bus.publish("facetrail.sightings.v1", "entry-1", b"2")
    started = time.monotonic()
    with pytest.raises(BusBufferFull, match="buffer full"):
        bus.publish("facetrail.sightings.v1", "entry-1", b"3")
    assert time.monotonic() - started < 2.0
    assert bus.pending() == 2
    with pytest.raises(BusNotDelivered, match="2 message"):
        bus.close()


def test_publish_many_waits_no_longer_than_its_bound_and_keeps_what_it_queued():
    config = KafkaBusConfig(kind="kafka", bootstrap_servers="127.0.0.1:9", buffer_max_messages=2)
    bus = KafkaBus(config, max_block_s=0.5, close_timeout_s=0.5)
    started = time.monotonic()
    with pytest.raises(BusBufferFull, match="buffer full"):
        bus.publish_many("facetrail.sightings.v1", [("entry-1", b"1"), ("entry-1", b"2"), ("entry-1", b"3")])
    assert time.monotonic() - started < 2.0
    assert bus.pending() == 2
    with pytest.raises(BusNotDelivered, match="2 message"):
        bus.close()


@services
def test_ensure_topics_creates_the_facetrail_topics_and_then_has_nothing_left_to_do(kafka_service):
    ensure_topics(kafka_service.kafka_bootstrap)
    assert ensure_topics(kafka_service.kafka_bootstrap) == []
    assert set(DEFAULT_TOPICS) == {"facetrail.sightings.v1", "facetrail.camera-health.v1", "facetrail.alerts.v1",
                                   "facetrail.dead-letter.v1", "facetrail.decisions.v1", "facetrail.cameras.v1"}


@services
def test_open_bus_gives_a_working_kafka_bus_for_a_kafka_config(kafka_service):
    topic = fresh_topic(kafka_service.kafka_bootstrap)
    bus = open_bus(KafkaBusConfig(kind="kafka", bootstrap_servers=kafka_service.kafka_bootstrap))
    assert isinstance(bus, KafkaBus)
    bus.publish(topic, "entry-1", b"x")
    bus.flush()
    bus.close()


@services
def test_topics_keep_messages_no_longer_than_the_retention_limit(kafka_service):
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

    from facetrail.bus.kafka_bus import ensure_topics

    kafka_bootstrap = kafka_service.kafka_bootstrap
    topic = f"retention-{uuid.uuid4().hex[:8]}"
    ensure_topics(kafka_bootstrap, {topic: 1}, retention_ms=86_400_000)
    ensure_topics(kafka_bootstrap, {topic: 1}, retention_ms=2 * 86_400_000)  # an existing topic is updated
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        admin.close()
    assert described["topic"][topic]["retention.ms"]["value"] == "172800000"


@services
def test_a_prefixed_bus_keeps_its_messages_to_its_own_topics_and_groups(kafka_service):
    prefix = f"test-{uuid.uuid4().hex[:8]}."
    ensure_topics(kafka_service.kafka_bootstrap, {"events": 1}, prefix=prefix)
    config = KafkaBusConfig(kind="kafka", bootstrap_servers=kafka_service.kafka_bootstrap, topic_prefix=prefix)
    prefixed = KafkaBus(config)
    prefixed.publish("events", "entry-1", b"only-here")
    prefixed.flush()
    consumer = prefixed.consumer("events", "readers")
    (record,) = poll_until(consumer, 1)
    consumer.close()
    prefixed.close()
    assert (record.topic, record.value) == ("events", b"only-here")
    plain = bus_for(kafka_service.kafka_bootstrap).consumer(prefix + "events", prefix + "readers")
    assert [r.value for r in poll_until(plain, 1, timeout_s=10)] == [b"only-here"]  # the group never committed
    plain.close()


@services
def test_the_bus_puts_every_key_on_the_partition_kafkas_java_client_would(kafka_service, bus):
    from kafka.partitioner.default import murmur2

    topic = fresh_topic(kafka_service.kafka_bootstrap, partitions=6)
    keys = [f"entry-{i}" for i in range(60)]
    bus.publish_many(topic, [(key, b"1") for key in keys])
    bus.flush()
    placed = {r.key: r.partition for r in read_back(bus, topic, "partitioner", len(keys))}
    assert placed == {key: (murmur2(key.encode()) & 0x7FFFFFFF) % 6 for key in keys}


@services
def test_a_consumer_that_polled_before_its_topic_existed_gets_every_partition_once_it_does(kafka_service, bus):
    topic = f"test.{uuid.uuid4().hex[:12]}"
    consumer = bus.consumer(topic, "early")
    assert consumer.poll(0.5) == []  # nothing to join yet
    ensure_topics(kafka_service.kafka_bootstrap, {topic: 3})
    bus.publish_many(topic, [(f"entry-{i}", f"{i}".encode()) for i in range(12)])
    bus.flush()
    records = poll_until(consumer, 12, timeout_s=20.0)
    consumer.close()
    assert len(records) == 12 and {r.partition for r in records} == {0, 1, 2}


@services
def test_new_topics_are_returned_only_once_every_partition_has_a_leader(kafka_service):
    from kafka import KafkaAdminClient

    topic = f"test.{uuid.uuid4().hex[:12]}"
    assert ensure_topics(kafka_service.kafka_bootstrap, {topic: 6}) == [topic]
    admin = KafkaAdminClient(bootstrap_servers=kafka_service.kafka_bootstrap)
    try:
        partitions = admin.describe_topics([topic])[0]["partitions"]
    finally:
        admin.close()
    assert len(partitions) == 6 and all(p["leader_id"] >= 0 for p in partitions)


def test_a_consumer_whose_broker_is_away_polls_nothing_within_its_timeout_instead_of_raising():
    from facetrail.bus.kafka_bus import KafkaBusConsumer

    # Nothing listens on port 9 of loopback.
    consumer = KafkaBusConsumer(KafkaBusConfig(kind="kafka", bootstrap_servers="127.0.0.1:9"), "facetrail.sightings.v1", "g")
    started = time.monotonic()
    assert consumer.poll(0.5) == []
    consumer.commit()
    assert time.monotonic() - started < 3.0
    consumer.close()


@pytest.mark.parametrize("error, kept", [("Cancelled", False), ("KafkaConnectionError", True)])
def test_kafka_python_s_error_about_a_request_our_own_close_cancelled_is_not_logged(caplog, error, kept):
    import logging

    import kafka.errors

    with caplog.at_level(logging.ERROR, logger="kafka.cluster"):
        logging.getLogger("kafka.cluster").error("Metadata refresh: failed %s", getattr(kafka.errors, error)())
    assert bool(caplog.records) is kept


def test_an_idle_producer_that_flushes_while_its_broker_is_away_does_not_say_it_works_again(caplog):
    import logging

    # Nothing listens on port 9 of loopback.
    bus = KafkaBus(KafkaBusConfig(kind="kafka", bootstrap_servers="127.0.0.1:9"), close_timeout_s=0.5)
    with caplog.at_level(logging.WARNING, logger="facetrail.bus.kafka_bus"):
        deadline = time.monotonic() + 10
        while "retrying" not in caplog.text and time.monotonic() < deadline:
            bus.pending()  # serves librdkafka's error reports
            time.sleep(0.1)
        bus.flush(0.5)
        bus.close()
    assert "retrying" in caplog.text
    assert "working again" not in caplog.text
