"""Names of stored objects (evidence crops, enrolment photos, the site plan), built only from validated ids.

Below every stage: the analyser names a crop's key in the event it publishes, the object stores check keys.
"""

from __future__ import annotations

import re
from datetime import datetime

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


def check_key(key: str) -> str:
    if not _KEY.match(key) or ".." in key:
        raise ObjectStoreError(f"invalid object key: {key!r}")
    return key


def site_plan_key() -> str:
    """The site plan image shown under the camera markers (one per deployment)."""
    return "site/plan"


def site_plan_extent_key() -> str:
    """What the site plan image covers, in metres (JSON), so camera positions land on the building they are in."""
    return "site/plan-extent.json"
