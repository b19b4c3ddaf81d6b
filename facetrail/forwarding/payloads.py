"""What a forwarding target receives: minimal, versioned JSON (schemas in facetrail/event_schemas).

A sighting names the entry by id; its display name only where the target asks for names and its role may
see the entry's list; the evidence as a link into the console, the crop itself only where a target opts in.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from facetrail.events import CAMERA_ID_PATTERN

SightingType = Literal["sighting.candidate", "sighting.confirmed", "sighting.rejected"]
KIND_OF_TYPE: dict[str, str] = {"sighting.candidate": "candidate", "sighting.confirmed": "confirmed",
                                "sighting.rejected": "rejected", "camera.health": "camera_health"}


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SightingData(_Payload):
    event_id: str = Field(pattern=r"^[0-9a-f]{32}$", description="the sighting (one pass of one person past one camera)")
    entry_id: str = Field(min_length=1, max_length=64, description="the watch-list entry matched")
    watchlist: str = Field(description="the watch-list the entry is on")
    display_name: str | None = Field(description="the entry's display name; null unless the target may see names")
    camera_id: str = Field(pattern=CAMERA_ID_PATTERN)
    camera_name: str | None = Field(description="the camera's configured name; null when it is no longer configured")
    first_seen: datetime = Field(description="capture time of the pass's first frame with the face, UTC")
    last_seen: datetime = Field(description="capture time of its last frame so far, UTC")
    score: float = Field(ge=0.0, le=1.0, description="match confidence of the best shot, 0 to 1")
    review_state: Literal["candidate", "confirmed", "rejected"] = Field(
        description="a match is a candidate until the people required confirm it")
    confirmations: int = Field(ge=0, description="different people who confirmed it so far")
    required: int = Field(ge=1, le=2, description="confirmations the deployment requires")
    track_id: str | None = Field(description="the track the sighting joined (candidates); null otherwise")
    evidence_url: str | None = Field(description="the evidence crop in the console (login required); null without "
                                                 "forwarding.console_url or a crop")
    crop_jpeg_base64: str | None = Field(description="the crop itself, only for targets with include_crop")


class SightingMessage(_Payload):
    schema_version: Literal[1] = 1
    type: SightingType
    id: str = Field(description="the message id (webhook-id): the same for every retry, so receivers deduplicate by it")
    site: str
    timestamp: datetime = Field(description="when it happened: the alert's or the decision's time, UTC")
    data: SightingData


class CameraHealthData(_Payload):
    camera_id: str = Field(pattern=CAMERA_ID_PATTERN)
    camera_name: str | None
    state: str = Field(description="'starting', 'streaming', 'reconnecting' or 'stopped'")
    previous_state: str | None = Field(description="the state before; null for the first report forwarded")
    analysed_fps: float = Field(ge=0)
    last_frame_at: datetime | None
    reconnects: int = Field(ge=0)
    lag_s: float = Field(ge=0)


class CameraHealthMessage(_Payload):
    schema_version: Literal[1] = 1
    type: Literal["camera.health"] = "camera.health"
    id: str = Field(description="the message id (webhook-id)")
    site: str
    timestamp: datetime = Field(description="when the worker reported it, UTC")
    data: CameraHealthData


class Availability(_Payload):
    """Retained on <prefix>/<site>/availability; the broker publishes the last will ('offline') when we vanish."""

    state: Literal["online", "offline"]


ForwardedMessage = SightingMessage | CameraHealthMessage
