"""Object store on MinIO (or any S3-compatible server), for deployments.

Keys pass ``check_key`` before any request, so only keys built by
``evidence_key``/``enrolment_key`` ever reach the server. The bucket is created
on first use when it does not exist.
"""

from __future__ import annotations

import io
from typing import Iterator

import urllib3
from minio import Minio
from minio.error import MinioException, S3Error

from facetrail.storage.objects import ObjectStoreError, check_key

_MISSING = {"NoSuchKey", "NoSuchObject"}


class MinioObjectStore:
    def __init__(self, endpoint: str, access_key: str, secret_key: str, bucket: str, secure: bool = False,
                 *, timeout_s: float = 10.0, retries: int = 2):
        self.endpoint = endpoint
        self.bucket = bucket
        # Bounded timeouts and retries, so an unreachable server is an error in seconds, not a hang.
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=timeout_s, read=timeout_s),
            retries=urllib3.Retry(total=retries, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
        )
        try:
            self._client = Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=secure,
                                 http_client=http)
        except ValueError as exc:
            raise ObjectStoreError(f"invalid MinIO endpoint {endpoint!r}: {exc}") from None
        self._ensure_bucket()

    def _fail(self, doing: str, exc: Exception) -> ObjectStoreError:
        if isinstance(exc, S3Error):
            detail = f"{exc.code}: {exc.message}"
        else:
            detail = f"{type(exc).__name__}: {exc}"
        return ObjectStoreError(f"MinIO at {self.endpoint} (bucket {self.bucket}): {doing} failed ({detail})")

    def _ensure_bucket(self) -> None:
        try:
            if not self._client.bucket_exists(self.bucket):
                self._client.make_bucket(self.bucket)
        except S3Error as exc:
            if exc.code not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                raise self._fail("opening the bucket", exc) from None
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._fail("opening the bucket", exc) from None

    def put(self, key: str, data: bytes, content_type: str = "image/jpeg") -> None:
        check_key(key)
        try:
            self._client.put_object(self.bucket, key, io.BytesIO(data), len(data), content_type=content_type)
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._fail(f"put {key}", exc) from None

    def get(self, key: str) -> bytes:
        check_key(key)
        try:
            response = self._client.get_object(self.bucket, key)
        except S3Error as exc:
            if exc.code in _MISSING:
                raise KeyError(key) from None
            raise self._fail(f"get {key}", exc) from None
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._fail(f"get {key}", exc) from None
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    def content_type(self, key: str) -> str:
        """The content type stored with an object (KeyError when it does not exist)."""
        check_key(key)
        try:
            return self._client.stat_object(self.bucket, key).content_type or ""
        except S3Error as exc:
            if exc.code in _MISSING:
                raise KeyError(key) from None
            raise self._fail(f"stat {key}", exc) from None

    def delete(self, key: str) -> None:
        check_key(key)
        try:
            self._client.remove_object(self.bucket, key)  # S3 deletes of missing objects succeed
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._fail(f"delete {key}", exc) from None

    def keys(self, prefix: str = "") -> Iterator[str]:
        try:
            names = sorted(obj.object_name for obj in self._client.list_objects(self.bucket, prefix=prefix or None,
                                                                                recursive=True))
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._fail(f"listing {prefix or 'all keys'}", exc) from None
        return iter(names)
