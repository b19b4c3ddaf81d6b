"""Object store interface for evidence crops of matches, and the local-folder default.

Keys are built only by ``evidence_key``/``enrolment_key`` (facetrail.object_keys) from validated ids, so
no outside input ever reaches a path or an object name unescaped.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Iterator, Protocol

from facetrail.object_keys import (ObjectStoreError, check_key, enrolment_key, evidence_key, site_plan_extent_key,
                                   site_plan_key)

__all__ = ["LocalObjectStore", "ObjectStore", "ObjectStoreError", "check_key", "enrolment_key", "evidence_key",
           "site_plan_extent_key", "site_plan_key"]


class ObjectStore(Protocol):
    def put(self, key: str, data: bytes, content_type: str = "image/jpeg") -> None: ...

    def get(self, key: str) -> bytes:
        """Raise KeyError when the object does not exist."""

    def delete(self, key: str) -> None:
        """Deleting a missing object is not an error."""

    def keys(self, prefix: str = "") -> Iterator[str]: ...


class LocalObjectStore:
    """Objects as files under one folder; writes are atomic (temp file + rename)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, data: bytes, content_type: str = "image/jpeg") -> None:
        path = self._path(key)
        tmp = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except OSError as exc:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)  # no partial file is left behind (a full disk, a lost mount)
            raise ObjectStoreError(f"local evidence store {self.root}: cannot write {path}: "
                                   f"{exc.strerror or exc}") from None

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise KeyError(key) from None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def keys(self, prefix: str = "") -> Iterator[str]:
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and not path.name.startswith(".tmp-"):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    yield key
