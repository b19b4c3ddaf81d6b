"""Private stores per test on the shared services: a fresh PostgreSQL database, MinIO bucket, clean Kafka."""

from __future__ import annotations

import secrets
import time
from contextlib import contextmanager
from collections.abc import Iterator

from kafka import KafkaAdminClient
from kafka.errors import UnknownTopicOrPartitionError

from services_fixtures import ServiceEnv


@contextmanager
def private_database(env: ServiceEnv) -> Iterator[str]:
    """A new empty database owned by the app role; its URL (app credentials). Dropped afterwards."""
    from bench.services import scratch_database

    with scratch_database(env.database_url, "ft_test") as url:
        yield url


def private_bucket() -> str:
    return f"ft-test-{secrets.token_hex(4)}"


def empty_bucket(env: ServiceEnv, bucket: str) -> None:
    from minio import Minio

    client = Minio(env.minio_endpoint, env.minio_access_key, env.minio_secret_key, secure=False)
    if not client.bucket_exists(bucket):
        return
    for obj in client.list_objects(bucket, recursive=True):
        client.remove_object(bucket, obj.object_name)
    client.remove_bucket(bucket)


def reset_kafka(env: ServiceEnv, prefix: str = "", attempts: int = 10) -> None:
    """Delete every facetrail topic and consumer group (of the deployment with this topic_prefix), so a test
    starts from an empty bus. A broker just (re)started answers 'coordinator load in progress' for a while."""
    from kafka.errors import CoordinatorLoadInProgressError

    for attempt in range(attempts):
        try:
            return _reset_kafka(env, prefix)
        except CoordinatorLoadInProgressError:
            if attempt == attempts - 1:
                raise
            time.sleep(1.0)


def _reset_kafka(env: ServiceEnv, prefix: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=env.kafka_bootstrap, client_id="facetrail-test-admin")
    try:
        doomed = [g["group_id"] for g in admin.list_groups() if g["group_id"].startswith(prefix + "facetrail")]
        if doomed:
            admin.delete_groups(doomed)  # a group still in use is refused; the test then fails on its content
        topics = [t for t in admin.list_topics() if t.startswith(prefix + "facetrail.")]
        if topics:
            try:
                admin.delete_topics(topics, timeout_ms=30_000)
            except UnknownTopicOrPartitionError:
                pass
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(t.startswith(prefix + "facetrail.") for t in admin.list_topics()):
            time.sleep(0.2)
    finally:
        admin.close()
