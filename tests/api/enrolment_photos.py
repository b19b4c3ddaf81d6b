"""Real photos for the enrolment routes: face_recognition's test photos (see tests/analytics/conftest.py), as uploads."""

from __future__ import annotations

import cv2
import numpy as np

from analytics.conftest import _fetch_sdist


def photo(name: str) -> np.ndarray:
    return cv2.imread(str(_fetch_sdist() / name))


def jpeg_bytes(image: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tobytes()


def group_photo() -> np.ndarray:
    """Obama on the left, Biden on the right, their faces of similar size: a photo the default rule refuses."""
    obama, biden = photo("obama.jpg"), photo("biden.jpg")
    canvas = np.zeros((1200, 2000, 3), np.uint8)
    canvas[: obama.shape[0], : obama.shape[1]] = obama
    canvas[:1200, 1000:1970] = biden[:1200]
    return canvas
