"""A cheap gate that lets still frames skip detection, and moving ones detect only where they moved.

CCTV scenes are empty most of the time. When no face is being tracked and a
tiny grayscale thumbnail of the frame barely differs from the last one
analysed, nothing can have entered the picture, so the detector need not run.
When some of it moved, the cells that changed, widened by a margin, are where
a new face can be: a fixed camera's walkers cover a tenth of its picture.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

THUMB_SIZE = (64, 36)
# Largest grey-level change (0-255) of any thumbnail cell below which a frame counts as still.
# Each cell averages a 30x30 patch of a 1080p frame, so sensor noise and H.264 artefacts move it
# by a level or two, while a face of 40 px (the smallest recognised) covering part of one moves
# it by tens. The largest change, not the mean: a lone small face moves the mean by ~0.2.
STILL_BELOW = 10.0
# Cells added around each changed one: a face moves with its body but may change fewer of its own cells
# than the torso under it, and the detector needs context around a face (YuNet about a face's width).
MARGIN_CELLS = 2
# Regions covering more of the picture than this are searched as one whole frame: cropping saves little.
WHOLE_ABOVE = 0.5
# Smallest side of a region, in cells: the detector's features need room (YuNet strides to 32 px).
MIN_SIDE_CELLS = 6

Region = tuple[int, int, int, int]
"""x, y, w, h in pixels of the image the gate compared."""


@dataclass(frozen=True)
class Motion:
    still: bool
    regions: tuple[Region, ...] | None
    """Where the picture changed (empty when still); None: everywhere, or the first frame."""


def _grow(box: Region, min_w: int, min_h: int, width: int, height: int) -> Region:
    """The box widened about its centre to at least min_w x min_h, kept inside the picture."""
    x, y, w, h = box
    w2, h2 = min(width, max(w, min_w)), min(height, max(h, min_h))
    x2 = min(max(0, x - (w2 - w) // 2), width - w2)
    y2 = min(max(0, y - (h2 - h) // 2), height - h2)
    return x2, y2, w2, h2


def _overlap(a: Region, b: Region) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def _union(a: Region, b: Region) -> Region:
    x0, y0 = min(a[0], b[0]), min(a[1], b[1])
    return x0, y0, max(a[0] + a[2], b[0] + b[2]) - x0, max(a[1] + a[3], b[1] + b[3]) - y0


def merge_overlapping(boxes: list[Region]) -> list[Region]:
    """Boxes joined until none overlaps another, so no face is searched (and found) twice."""
    merged = list(boxes)
    joined = True
    while joined:
        joined = False
        for i in range(len(merged)):
            for j in range(i + 1, len(merged)):
                if _overlap(merged[i], merged[j]):
                    merged[i] = _union(merged[i], merged.pop(j))
                    joined = True
                    break
            if joined:
                break
    return merged


def changed_regions(changed: np.ndarray, width: int, height: int) -> tuple[Region, ...] | None:
    """Regions (image pixels) around the changed cells of a thumbnail-sized mask; None when they cover most of it."""
    grown = cv2.dilate(changed.astype(np.uint8), np.ones((2 * MARGIN_CELLS + 1,) * 2, np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(grown, connectivity=8)
    cell_w, cell_h = width / changed.shape[1], height / changed.shape[0]
    boxes = []
    for x, y, w, h, _ in stats[1:count]:
        box = (int(x * cell_w), int(y * cell_h), int(np.ceil((x + w) * cell_w)) - int(x * cell_w),
               int(np.ceil((y + h) * cell_h)) - int(y * cell_h))
        boxes.append(_grow(box, int(MIN_SIDE_CELLS * cell_w), int(MIN_SIDE_CELLS * cell_h), width, height))
    regions = merge_overlapping(boxes)
    if sum(w * h for _, _, w, h in regions) > WHOLE_ABOVE * width * height:
        return None
    return tuple(regions)


class MotionGate:
    def __init__(self, still_below: float = STILL_BELOW):
        self.still_below = still_below
        self._last: np.ndarray | None = None

    def still(self, image_bgr: np.ndarray) -> bool:
        """True when this frame barely differs from the last one seen (the first never is)."""
        return self.compare(image_bgr).still

    def compare(self, image_bgr: np.ndarray) -> Motion:
        """Whether, and where, this frame differs from the last one seen.

        Any size of the frame will do (the pipeline passes the detector's downscale): an
        area average of an area average is the same thumbnail, within rounding.
        """
        small = cv2.resize(image_bgr, THUMB_SIZE, interpolation=cv2.INTER_AREA)
        thumb = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY).astype(np.int16)
        previous, self._last = self._last, thumb
        if previous is None:
            return Motion(still=False, regions=None)
        changed = np.abs(thumb - previous) >= self.still_below
        if not changed.any():
            return Motion(still=True, regions=())
        return Motion(still=False, regions=changed_regions(changed, image_bgr.shape[1], image_bgr.shape[0]))
