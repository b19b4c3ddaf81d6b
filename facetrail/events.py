"""The one versioned sighting event shared by every stage.

A sighting is one pass of one watch-listed person past one camera. Faces that
match nobody never become events, so nothing here can describe them.

A pass may be published more than once while it grows (first at the moment of
the match, so alerts are fast, then when the pass ends); every publication of a
pass carries the same deterministic ``event_id`` and consumers upsert by it, so
neither a growing pass nor a replay ever duplicates a sighting.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SCHEMA_VERSION: Literal[1] = 1

CAMERA_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"


class Box(BaseModel):
    """Face box in pixels of the full-resolution frame."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    x: int = Field(ge=0)
    y: int = Field(ge=0)
    w: int = Field(gt=0)
    h: int = Field(gt=0)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamps must carry a timezone")
    return value.astimezone(timezone.utc)


def sighting_event_id(camera_id: str, entry_id: str, first_seen: datetime) -> str:
    """Same camera, person and pass start always give the same id (millisecond grain)."""
    millis = int(_utc(first_seen).timestamp() * 1000)
    digest = hashlib.sha256(f"v{SCHEMA_VERSION}|{camera_id}|{entry_id}|{millis}".encode())
    return digest.hexdigest()[:32]


class SightingEvent(BaseModel):
    """A watch-list candidate match: it stays a candidate until a person confirms it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = SCHEMA_VERSION
    event_id: str = Field(pattern=r"^[0-9a-f]{32}$",
                          description="deterministic id of the pass (camera, entry, first_seen to the millisecond): "
                                      "every publication of one pass carries the same id")
    camera_id: str = Field(pattern=CAMERA_ID_PATTERN, description="id of the configured camera")
    entry_id: str = Field(min_length=1, max_length=64, description="id of the watch-list entry matched")
    first_seen: datetime = Field(description="capture time of the pass's first frame with the face, UTC")
    last_seen: datetime = Field(description="capture time of its last frame so far, UTC")
    score: float = Field(ge=0.0, le=1.0, description="match confidence of the best shot, 0 to 1 (higher: closer)")
    box: Box = Field(description="face box of the best shot")
    quality: float = Field(ge=0.0, le=1.0, description="image quality of the best shot, 0 to 1")
    evidence_key: str | None = Field(None, description="object-store key of the best shot's crop (JPEG), "
                                                       "served only through the API")
    watchlist_version: str = Field("", description="version of the watch-list the match was made against")
    final: bool = Field(False, description="true on the publication made when the pass ended")

    @field_validator("first_seen", "last_seen")
    @classmethod
    def _aware_utc(cls, value: datetime) -> datetime:
        return _utc(value)

    @model_validator(mode="after")
    def _ordered(self) -> "SightingEvent":
        if self.last_seen < self.first_seen:
            raise ValueError("last_seen precedes first_seen")
        return self

    @classmethod
    def create(cls, *, camera_id: str, entry_id: str, first_seen: datetime, **fields: Any) -> "SightingEvent":
        event_id = sighting_event_id(camera_id, entry_id, first_seen)
        return cls(event_id=event_id, camera_id=camera_id, entry_id=entry_id, first_seen=first_seen, **fields)

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> "SightingEvent":
        return cls.model_validate_json(raw)

    def merged_with(self, other: "SightingEvent") -> "SightingEvent":
        """Combine two publications of the same pass: widest span, best shot."""
        if other.event_id != self.event_id:
            raise ValueError("only publications of the same pass can merge")
        best = other if other.score > self.score else self
        return best.model_copy(
            update={
                "first_seen": min(self.first_seen, other.first_seen),
                "last_seen": max(self.last_seen, other.last_seen),
                "final": self.final or other.final,
                "evidence_key": best.evidence_key or self.evidence_key or other.evidence_key,
            }
        )
