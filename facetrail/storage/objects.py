"""Object store interface for evidence crops of matches, and the local-folder default.

Keys are built only by ``evidence_key``/``enrolment_key`` from validated ids, so
no outside input ever reaches a path or an object name unescaped.
"""

from __future__ import annotations

import os
import re
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Iterator, Protocol

_KEY = re.compile(r"^[a-z]+(/[A-Za-z0-9_.-]+)+$")
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ObjectStoreError(Exception):
    pass


def _safe_id(value: str) -> str:
    if not _ID.match(value):
        raise ObjectStoreError(f"unsafe id for an object key: {value!r}")
    return value


def evidence_key(camera_id: str, captured_at: datetime, event_id: str) -> str:
    return f"evidence/{_safe_id(camera_id)}/{captured_at:%Y-%m-%d}/{_safe_id(event_id)}.jpg"


def enrolment_key(entry_id: str, index: int) -> str:
    return f"enrolment/{_safe_id(entry_id)}/{int(index)}.jpg"


def site_plan_key() -> str:
    """The site plan image shown under the camera markers (one per deployment)."""
    return "site/plan"


def site_plan_extent_key() -> str:
    """What the site plan image covers, in metres (JSON), so camera positions land on the building they are in."""
    return "site/plan-extent.json"


def check_key(key: str) -> str:
    if not _KEY.match(key) or ".." in key:
        raise ObjectStoreError(f"invalid object key: {key!r}")
    return key


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
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)

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
