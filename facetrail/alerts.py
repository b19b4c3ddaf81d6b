"""The bus's other payloads besides sightings and health: alerts to operators, review decisions, dead letters.

Below the stages that use them: the trajectory service publishes alerts and dead letters, the review desk
decisions; the API and forwarding follow alerts, forwarding follows decisions; the bus declares their
channels (facetrail.bus.channels).
"""

from __future__ import annotations

import base64
from datetime import datetime, timezone
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from facetrail.bus.base import Record
from facetrail.events import SightingEvent


class Alert(BaseModel):
    """A new candidate match, announced to operators once it is stored and stitched."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    sighting: SightingEvent
    track_id: str | None = Field(description="the track the sighting joined; null when a reviewer's reject keeps it out")


class Decision(BaseModel):
    """A sighting's review settled: confirmed by the people required, or rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    event_id: str = Field(pattern=r"^[0-9a-f]{32}$", description="the sighting decided")
    entry_id: str = Field(min_length=1, max_length=64, description="the watch-list entry it matched")
    status: Literal["confirmed", "rejected"]
    confirmations: int = Field(ge=0, description="different people who confirmed it")
    required: int = Field(ge=1, le=2, description="confirmations the deployment requires")
    decided_at: datetime


class DeadLetter(BaseModel):
    """A message the trajectory service could not read as a sighting, kept exactly as it came for inspection."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    topic: str = Field(description="facetrail topic it was read from, without the deployment's topic_prefix")
    partition: int = Field(ge=0)
    offset: int = Field(ge=0)
    key: str = Field(description="its key, as it came")
    reason: str = Field(description="why it was refused: the fields at fault and the kind of fault, never their values")
    value_base64: str = Field(description="the message's bytes, exactly as they came, in base64")
    dead_lettered_at: datetime

    @classmethod
    def of(cls, record: Record, reason: str) -> "DeadLetter":
        return cls(topic=record.topic, partition=record.partition, offset=record.offset, key=record.key, reason=reason,
                   value_base64=base64.b64encode(record.value).decode(), dead_lettered_at=datetime.now(timezone.utc))

    @property
    def value(self) -> bytes:
        return base64.b64decode(self.value_base64)
