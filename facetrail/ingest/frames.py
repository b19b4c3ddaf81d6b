"""The frame value that ingest hands to analytics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np


@dataclass(frozen=True, eq=False)
class Frame:
    camera_id: str
    index: int
    """Position of the frame in its stream (decoded frames counted from 0)."""
    captured_at: datetime
    """UTC capture time: wall clock for live streams, file start + offset for recordings."""
    image: np.ndarray
    """Full-resolution BGR uint8 pixels."""
