"""MinioObjectStore against a real MinIO server started by scripts/services."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest

from facetrail.config import MinioObjectsConfig
from facetrail.storage.minio_store import MinioObjectStore
from facetrail.storage.objects import ObjectStoreError, enrolment_key, evidence_key
from facetrail.storage.select import open_object_store
from services_fixtures import minio_service  # noqa: F401  (session fixture: the real server via scripts/services)

pytestmark = pytest.mark.services

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4 + b"\xff\xd9"
WHEN = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def store(minio_service):
    bucket = f"test-{uuid.uuid4().hex[:12]}"
    return MinioObjectStore(minio_service.minio_endpoint, minio_service.minio_access_key,
                            minio_service.minio_secret_key, bucket)


def test_a_stored_object_reads_back_byte_for_byte_with_its_content_type(store):
    key = evidence_key("cam-1", WHEN, "a" * 32)
    store.put(key, JPEG)
    assert store.get(key) == JPEG
    assert store.content_type(key) == "image/jpeg"


def test_reading_a_missing_object_raises_key_error(store):
    with pytest.raises(KeyError):
        store.get(evidence_key("cam-1", WHEN, "b" * 32))


def test_a_deleted_object_is_gone_and_deleting_it_again_is_fine(store):
    key = enrolment_key("entry-1", 0)
    store.put(key, JPEG)
    store.delete(key)
    store.delete(key)
    with pytest.raises(KeyError):
        store.get(key)


def test_keys_lists_the_objects_under_a_prefix_in_order(store):
    store.put(enrolment_key("entry-1", 1), JPEG)
    store.put(enrolment_key("entry-1", 0), JPEG)
    store.put(evidence_key("cam-1", WHEN, "c" * 32), JPEG)
    assert list(store.keys("enrolment/")) == ["enrolment/entry-1/0.jpg", "enrolment/entry-1/1.jpg"]
    assert len(list(store.keys())) == 3


@pytest.mark.parametrize("key", ["../etc/passwd", "evidence/../../x.jpg", "/evidence/a.jpg", "evidence/a b.jpg"])
def test_an_invalid_key_is_rejected_before_reaching_the_server(store, key):
    with pytest.raises(ObjectStoreError, match="invalid object key"):
        store.put(key, JPEG)
    with pytest.raises(ObjectStoreError, match="invalid object key"):
        store.get(key)


def test_wrong_credentials_give_one_clear_error(minio_service):
    with pytest.raises(ObjectStoreError, match="opening the bucket failed"):
        MinioObjectStore(minio_service.minio_endpoint, minio_service.minio_access_key, "not-the-secret",
                         "facetrail-evidence")


def test_open_object_store_gives_a_minio_store_for_a_minio_config(minio_service):
    config = MinioObjectsConfig(kind="minio", endpoint=minio_service.minio_endpoint,
                                access_key=minio_service.minio_access_key,
                                secret_key=minio_service.minio_secret_key, bucket=f"test-{uuid.uuid4().hex[:12]}")
    store = open_object_store(config)
    assert isinstance(store, MinioObjectStore)
    store.put(enrolment_key("entry-9", 0), JPEG)
    assert store.get(enrolment_key("entry-9", 0)) == JPEG
