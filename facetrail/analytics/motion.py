"""A cheap gate that lets still frames skip detection.

CCTV scenes are empty most of the time. When no face is being tracked and a
tiny grayscale thumbnail of the frame barely differs from the last one
analysed, nothing can have entered the picture, so the detector need not run.
"""

from __future__ import annotations

import cv2
import numpy as np

THUMB_SIZE = (64, 36)
# Mean absolute grey-level change (0-255) of the thumbnail below which a frame counts as still;
# sensor noise and H.264 artefacts stay well under it, a person entering does not.
STILL_BELOW = 1.5


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
        return previous is not None and float(np.abs(thumb - previous).mean()) < self.still_below
