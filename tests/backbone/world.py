"""Reading back everything the backbone holds: PostgreSQL rows, MinIO keys, every Kafka message."""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition
from minio import Minio
from sqlalchemy import create_engine, inspect, select, table, column

from services_fixtures import ServiceEnv
from tests.backbone.conftest import facetrail


@dataclass(frozen=True)
class Message:
    topic: str
    key: str
    value: bytes


def kafka_messages(env: ServiceEnv, prefix: str = "facetrail.") -> list[Message]:
    """Every message on every facetrail topic, read from the beginning (no consumer group)."""
    consumer = KafkaConsumer(bootstrap_servers=env.kafka_bootstrap, enable_auto_commit=False, group_id=None)
    try:
        topics = [t for t in consumer.topics() if t.startswith(prefix)]
        partitions = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        ends = consumer.end_offsets(partitions)
        messages: list[Message] = []
        deadline = time.monotonic() + 60
        while any(consumer.position(tp) < ends[tp] for tp in partitions) and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                messages += [Message(r.topic, (r.key or b"").decode(), r.value) for r in records]
        return messages
    finally:
        consumer.close()


def kcat_messages(env: ServiceEnv, topic: str) -> list[dict]:
    """Every message of one topic, read from the beginning by kcat: topic, partition, offset, key, payload."""
    result = subprocess.run(["kcat", "-b", env.kafka_bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-J", "-q"],
                            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, f"kcat could not read {topic}: {result.stderr.strip()}"
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def kcat_partitions(env: ServiceEnv) -> dict[str, int]:
    """Topic -> partition count, as kcat reads the broker's metadata."""
    result = subprocess.run(["kcat", "-b", env.kafka_bootstrap, "-L", "-J"], capture_output=True, text=True,
                            timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, f"kcat could not read the broker's metadata: {result.stderr.strip()}"
    return {t["topic"]: len(t["partitions"]) for t in json.loads(result.stdout)["topics"]}


def database_rows(url: str) -> dict[str, list[dict]]:
    """Every row of every table, as dicts."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            result = {}
            for name in inspect(conn).get_table_names():
                columns = [c["name"] for c in inspect(conn).get_columns(name)]
                rows = conn.execute(select(*[column(c) for c in columns]).select_from(table(name))).all()
                result[name] = [dict(zip(columns, row)) for row in rows]
            return result
    finally:
        engine.dispose()


def bucket_keys(env: ServiceEnv, bucket: str) -> set[str]:
    client = Minio(env.minio_endpoint, env.minio_access_key, env.minio_secret_key, secure=False)
    return {o.object_name for o in client.list_objects(bucket, recursive=True)} if client.bucket_exists(bucket) else set()


def tracks_json(config) -> list[dict]:
    return json.loads(facetrail("tracks", "-c", str(config), "--format", "json").stdout)


def sightings_json(config) -> list[dict]:
    return json.loads(facetrail("sightings", "-c", str(config), "--format", "json").stdout)


def routes(config) -> dict[str, tuple[str, ...]]:
    return {t["person"]: tuple(t["cameras"]) for t in tracks_json(config)}
