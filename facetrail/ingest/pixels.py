"""Decoded video frames to the BGR pixels analytics works on, converted only as far as it needs.

Analysis looks at every sampled frame through a downscale (motion gate, detection),
at face boxes (quality) and, in the few frames with a face to embed, at the whole
frame. Converting all of a 1080p frame to BGR and then shrinking it cost ~3.8 ms a
frame; shrinking the YUV planes first and converting the small picture ~1.7 ms.
"""

from __future__ import annotations

from functools import cached_property

import av
import cv2
import numpy as np

# swscale's bgr24 path costs ~30% more than OpenCV's I420 conversion of the same planes
# (measured on 1080p). Both use BT.601 limited-range coefficients; they differ by about
# one grey level on average (chroma upsampling), well inside detection and embedding noise.
_FAST_FORMATS = frozenset({"yuv420p"})
_FULL_RANGE = 2  # AVCOL_RANGE_JPEG: full-range YUV needs other coefficients than OpenCV's


def _is_fast(frame: av.VideoFrame) -> bool:
    return frame.format.name in _FAST_FORMATS and frame.width % 2 == 0 and frame.height % 2 == 0 \
        and getattr(frame, "color_range", 0) != _FULL_RANGE


def _i420(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Planes laid out as OpenCV's I420 input: Y rows, then U, then V, in rows of Y's width."""
    return np.concatenate((y.ravel(), u.ravel(), v.ravel())).reshape(y.shape[0] * 3 // 2, y.shape[1])


class Pixels:
    """One decoded picture. Holds either BGR or yuv420p planes (half the bytes); gives the whole
    frame in BGR (converted once, on first use), a BGR downscale, or the BGR of one box."""

    def __init__(self, width: int, height: int, *, bgr: np.ndarray | None = None, i420: np.ndarray | None = None):
        if (bgr is None) == (i420 is None):
            raise ValueError("Pixels need exactly one of bgr or i420")
        self.width, self.height = width, height
        self._i420 = i420
        if bgr is not None:
            self.__dict__["bgr"] = bgr  # already converted: the cached property's value

    @classmethod
    def of_bgr(cls, image: np.ndarray) -> "Pixels":
        return cls(image.shape[1], image.shape[0], bgr=image)

    @classmethod
    def of_video_frame(cls, frame: av.VideoFrame) -> "Pixels":
        if _is_fast(frame):
            return cls(frame.width, frame.height, i420=frame.to_ndarray())
        return cls(frame.width, frame.height, bgr=frame.to_ndarray(format="bgr24"))

    @cached_property
    def bgr(self) -> np.ndarray:
        """Full-resolution BGR uint8."""
        return cv2.cvtColor(self._i420, cv2.COLOR_YUV2BGR_I420)

    @property
    def _converted(self) -> bool:
        """True once the whole frame is BGR: cropping or shrinking that is cheaper than working on the planes."""
        return self._i420 is None or "bgr" in self.__dict__

    def _planes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        w, h = self.width, self.height
        flat = self._i420.reshape(-1)
        quarter = (w // 2) * (h // 2)
        return (flat[: w * h].reshape(h, w), flat[w * h : w * h + quarter].reshape(h // 2, w // 2),
                flat[w * h + quarter :].reshape(h // 2, w // 2))

    def shrunk(self, width: int, height: int) -> np.ndarray:
        """BGR at width x height, area-averaged (as cv2.INTER_AREA on the BGR frame, within a grey level or two)."""
        if self._converted or width % 2 or height % 2:
            return cv2.resize(self.bgr, (width, height), interpolation=cv2.INTER_AREA)
        y, u, v = self._planes()
        half = (width // 2, height // 2)
        small = _i420(cv2.resize(y, (width, height), interpolation=cv2.INTER_AREA),
                      cv2.resize(u, half, interpolation=cv2.INTER_AREA), cv2.resize(v, half, interpolation=cv2.INTER_AREA))
        return cv2.cvtColor(small, cv2.COLOR_YUV2BGR_I420)

    def region(self, x: int, y: int, w: int, h: int) -> np.ndarray:
        """BGR of the box, clipped to the picture (empty when nothing of it is inside)."""
        x0, y0 = max(0, x), max(0, y)
        x1, y1 = min(self.width, x + w), min(self.height, y + h)
        if x1 <= x0 or y1 <= y0:
            return np.zeros((0, 0, 3), np.uint8)
        if self._converted:
            return self.bgr[y0:y1, x0:x1]
        # chroma is shared by 2x2 pixels: convert the even-aligned box around it, then trim
        ex0, ey0 = x0 & ~1, y0 & ~1
        ex1, ey1 = min(self.width, (x1 + 1) & ~1), min(self.height, (y1 + 1) & ~1)
        py, pu, pv = self._planes()
        box = _i420(py[ey0:ey1, ex0:ex1], pu[ey0 // 2 : ey1 // 2, ex0 // 2 : ex1 // 2],
                    pv[ey0 // 2 : ey1 // 2, ex0 // 2 : ex1 // 2])
        converted = cv2.cvtColor(box, cv2.COLOR_YUV2BGR_I420)
        return converted[y0 - ey0 : y1 - ey0, x0 - ex0 : x1 - ex0]
