"""Camera health: the counts and liveness a worker reports for each camera.

Only counts: a face that matched nobody shows up here as a number and nowhere else.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from facetrail.events import CAMERA_ID_PATTERN


class CameraHealth(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    camera_id: str = Field(pattern=CAMERA_ID_PATTERN, description="id of the configured camera")
    state: str = Field(description="stream state: 'starting', 'streaming', 'reconnecting' or 'stopped'")
    analysed_fps: float = Field(ge=0, description="frames analysed per second over the last 10 s")
    last_frame_at: datetime | None = Field(None, description="capture time of the newest frame read; null before any")
    reconnects: int = Field(0, ge=0, description="reconnections to the stream since the camera started")
    lag_s: float = Field(0.0, ge=0, description="seconds between the newest analysed frame's capture and its analysis")
    faces_detected: int = Field(0, ge=0, description="faces detected since the camera started (a count only)")
    matched_passes: int = Field(0, ge=0, description="passes that matched a watch-list entry")
    unmatched_passes: int = Field(0, ge=0, description="passes that matched nobody: counted, never stored")
    reported_at: datetime = Field(description="when the worker made this report")
    detection_ms: float = Field(0.0, ge=0, description="mean detector time per analysed frame")
    embedding_ms: float = Field(0.0, ge=0, description="mean embedding time per face")
    watchlist_version: str = ""
