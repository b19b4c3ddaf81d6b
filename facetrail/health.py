"""Camera health: the counts and liveness a worker reports for each camera.

Only counts: a face that matched nobody shows up here as a number and nowhere else.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from facetrail.events import CAMERA_ID_PATTERN


class CameraHealth(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = 1
    camera_id: str = Field(pattern=CAMERA_ID_PATTERN)
    state: str
    analysed_fps: float = Field(ge=0)
    last_frame_at: datetime | None = None
    reconnects: int = Field(0, ge=0)
    lag_s: float = Field(0.0, ge=0)
    faces_detected: int = Field(0, ge=0)
    matched_passes: int = Field(0, ge=0)
    unmatched_passes: int = Field(0, ge=0)
    reported_at: datetime
    detection_ms: float = Field(0.0, ge=0, description="mean detector time per analysed frame")
    embedding_ms: float = Field(0.0, ge=0, description="mean embedding time per face")
    watchlist_version: str = ""
