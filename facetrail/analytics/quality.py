"""How useful a face shot is for recognition, in [0, 1].

Three cheap cues, each in [0, 1]: size (embeddings degrade below ~100 px of face
width), sharpness (variance of the Laplacian of the face, measured at a fixed
scale so a large face is not penalised for having more pixels) and frontalness
(how centred the nose is between the eyes, when the detector gives landmarks).
"""

from __future__ import annotations

import cv2
import numpy as np

from facetrail.analytics.detector import Detection

FULL_SIZE_PX = 100.0
# Laplacian variance of a sharp face at _SHARPNESS_SIDE px; blurrier faces score lower.
_SHARP_VARIANCE = 300.0
_SHARPNESS_SIDE = 64


def size_score(detection: Detection) -> float:
    return min(1.0, detection.w / FULL_SIZE_PX)


def sharpness_score(image_bgr: np.ndarray, detection: Detection) -> float:
    crop = image_bgr[detection.y : detection.y + detection.h, detection.x : detection.x + detection.w]
    if crop.size == 0:
        return 0.0
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    grey = cv2.resize(grey, (_SHARPNESS_SIDE, _SHARPNESS_SIDE), interpolation=cv2.INTER_AREA)
    variance = float(cv2.Laplacian(grey, cv2.CV_32F).var())
    return min(1.0, variance / _SHARP_VARIANCE)


def frontal_score(detection: Detection) -> float | None:
    """1 when the nose sits midway between the eyes, 0 at a profile; None without landmarks."""
    if detection.landmarks is None:
        return None
    right_eye, left_eye, nose = detection.landmarks[0], detection.landmarks[1], detection.landmarks[2]
    half_span = float(np.linalg.norm(left_eye - right_eye)) / 2.0
    if half_span < 1e-3:
        return 0.0
    offset = abs(float(nose[0]) - float(right_eye[0] + left_eye[0]) / 2.0)
    return float(np.clip(1.0 - offset / half_span, 0.0, 1.0))


def face_quality(image_bgr: np.ndarray, detection: Detection) -> float:
    size, sharp, frontal = size_score(detection), sharpness_score(image_bgr, detection), frontal_score(detection)
    if frontal is None:
        return float(np.clip(0.55 * size + 0.45 * sharp, 0.0, 1.0))
    return float(np.clip(0.4 * size + 0.3 * sharp + 0.3 * frontal, 0.0, 1.0))
