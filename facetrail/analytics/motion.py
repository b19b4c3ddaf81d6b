"""A cheap gate that lets still frames skip detection.

CCTV scenes are empty most of the time. When no face is being tracked and a
tiny grayscale thumbnail of the frame barely differs from the last one
analysed, nothing can have entered the picture, so the detector need not run.
"""

from __future__ import annotations

import cv2
import numpy as np

THUMB_SIZE = (64, 36)
# Largest grey-level change (0-255) of any thumbnail cell below which a frame counts as still.
# Each cell averages a 30x30 patch of a 1080p frame, so sensor noise and H.264 artefacts move it
# by a level or two, while a face of 40 px (the smallest recognised) covering part of one moves
# it by tens. The largest change, not the mean: a lone small face moves the mean by ~0.2.
STILL_BELOW = 10.0


class MotionGate:
    def __init__(self, still_below: float = STILL_BELOW):
        self.still_below = still_below
        self._last: np.ndarray | None = None

    def still(self, image_bgr: np.ndarray) -> bool:
        """True when this frame barely differs from the last one seen (the first never is).

        Any size of the frame will do (the pipeline passes the detector's downscale): an
        area average of an area average is the same thumbnail, within rounding.
        """
        small = cv2.resize(image_bgr, THUMB_SIZE, interpolation=cv2.INTER_AREA)
        thumb = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY).astype(np.int16)
        previous, self._last = self._last, thumb
        return previous is not None and float(np.abs(thumb - previous).max()) < self.still_below
