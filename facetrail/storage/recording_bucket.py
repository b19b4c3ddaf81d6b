"""Recorded footage on MinIO or any S3-compatible server: listing a prefix and fetching files (archive jobs).

Object names come from the server's own listing and are never turned into local paths: a fetched file is
stored under a name the caller chooses (the archive cache names files by their SHA-256).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import urllib3
from minio import Minio
from minio.error import MinioException, S3Error

from facetrail.storage.objects import ObjectStoreError


@dataclass(frozen=True)
class RecordingObject:
    key: str
    size: int


class RecordingBucket:
    def __init__(self, endpoint: str, access_key: str, secret_key: str, bucket: str, secure: bool = False):
        self.endpoint, self.bucket = endpoint, bucket
        http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=10.0, read=60.0),
                                   retries=urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]))
        self._client = Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=secure, http_client=http)

    def _fail(self, doing: str, exc: Exception) -> ObjectStoreError:
        detail = f"{exc.code}: {exc.message}" if isinstance(exc, S3Error) else f"{type(exc).__name__}: {exc}"
        return ObjectStoreError(f"s3://{self.bucket} at {self.endpoint}: {doing} failed ({detail})")

    def objects(self, prefix: str) -> list[RecordingObject]:
        """The objects under prefix, in name order (recordings named by time sort in time order)."""
        try:
            found = [RecordingObject(o.object_name, o.size or 0) for o in
                     self._client.list_objects(self.bucket, prefix=prefix or None, recursive=True)
                     if o.object_name and not o.is_dir]
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._fail(f"listing {prefix or 'the bucket'}", exc) from None
        return sorted(found, key=lambda o: o.key)

    def fetch(self, key: str, destination: Path) -> None:
        """Download one object to destination atomically (a temporary name, then a rename)."""
        partial = destination.with_name(f".{destination.name}.part-{os.getpid()}")
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._client.fget_object(self.bucket, key, str(partial))
        except S3Error as exc:
            partial.unlink(missing_ok=True)
            if exc.code in {"NoSuchKey", "NoSuchObject"}:
                raise KeyError(key) from None
            raise self._fail(f"get {key}", exc) from None
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            partial.unlink(missing_ok=True)
            raise self._fail(f"get {key}", exc) from None
        os.replace(partial, destination)
