"""Faces with their eyes hidden, made from real photos: dark glasses painted over the eyes the landmarks find."""

from __future__ import annotations

import cv2
import numpy as np

from facetrail.analytics.detector import Detection
from facetrail.analytics.landmarks import five_landmarks
from facetrail.ingest.pixels import Pixels


def with_dark_glasses(image: np.ndarray, face: Detection) -> np.ndarray:
    """The image with two near-black lenses over the face's eyes, as sunglasses hide them."""
    out = image.copy()
    eyes = five_landmarks(Pixels.of_bgr(image), face)[:2]
    span = float(np.linalg.norm(eyes[1] - eyes[0]))
    for x, y in eyes:
        cv2.ellipse(out, (int(x), int(y)), (int(0.42 * span), int(0.3 * span)), 0, 0, 360, (22, 20, 20), -1)
    return out
