"""The frame value that ingest hands to analytics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from facetrail.ingest.pixels import Pixels


@dataclass(frozen=True, eq=False)
class Frame:
    camera_id: str
    index: int
    """Position of the frame in its stream (decoded frames counted from 0)."""
    captured_at: datetime
    """UTC capture time: wall clock for live streams, file start + offset for recordings."""
    pixels: Pixels
    """The decoded picture, converted to BGR only as far as analysis asks."""

    @classmethod
    def of_bgr(cls, camera_id: str, index: int, captured_at: datetime, image: np.ndarray) -> "Frame":
        return cls(camera_id, index, captured_at, Pixels.of_bgr(image))

    @property
    def image(self) -> np.ndarray:
        """Full-resolution BGR uint8 pixels (converted on first use)."""
        return self.pixels.bgr
