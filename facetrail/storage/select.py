"""Opens the object store the config selects (MinIO is imported only when chosen)."""

from __future__ import annotations

from facetrail.config import LocalObjectsConfig, MinioObjectsConfig, ObjectsConfig
from facetrail.storage.objects import LocalObjectStore, ObjectStore


def open_object_store(config: ObjectsConfig) -> ObjectStore:
    if isinstance(config, LocalObjectsConfig):
        return LocalObjectStore(config.path)
    if isinstance(config, MinioObjectsConfig):
        from facetrail.storage.minio_store import MinioObjectStore

        return MinioObjectStore(config.endpoint, config.access_key, config.secret_key, config.bucket, config.secure)
    raise TypeError(f"unknown object store config {type(config).__name__}")
