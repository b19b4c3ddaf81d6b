"""How useful a face shot is for recognition, in [0, 1].

Three cheap cues, each in [0, 1]: size (embeddings degrade below ~100 px of face
width), sharpness (variance of the Laplacian of the face, measured at a fixed
scale so a large face is not penalised for having more pixels) and frontalness
(how centred the nose is between the eyes, when the detector gives landmarks).
Enrolment also checks that the eyes are not hidden (eye_brightness).
"""

from __future__ import annotations

import cv2
import numpy as np

from facetrail.analytics.alignment import aligned_chip, retail_0095_reference
from facetrail.analytics.detector import Detection
from facetrail.analytics.landmarks import five_landmarks
from facetrail.ingest.pixels import Pixels

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


# A 128 px chip aligned on the five landmarks as retail-0095's are (alignment.py): the eyes' patches and, below
# them, a patch of cheeks and nose to compare their brightness with.
_CHIP_SIDE = 128
_REFERENCE = retail_0095_reference(_CHIP_SIDE)
_EYE_HALF_W, _EYE_HALF_H = 14, 8
_SKIN = (slice(70, 100), slice(40, 88))


def eye_brightness(image_bgr: np.ndarray, detection: Detection) -> float | None:
    """Mean brightness of the two eye regions over that of the cheeks and nose (None when the face cannot be aligned).

    Dark glasses bring it to 0.06-0.30; on the 5,564 faces of lfw-dev every face below 0.30 wore dark glasses,
    and eyes in a cap's shadow or with dark make-up stayed above 0.31. A detector without landmarks
    (HOG) has them estimated by dlib's shape model, as the embedders do."""
    pixels = Pixels.of_bgr(image_bgr)
    try:
        chip = aligned_chip(pixels, five_landmarks(pixels, detection), _REFERENCE, _CHIP_SIDE)
    except ValueError:  # landmarks all at one point: nothing to align
        return None
    grey = cv2.cvtColor(chip, cv2.COLOR_BGR2GRAY).astype(np.float32)
    eyes = [grey[int(y) - _EYE_HALF_H:int(y) + _EYE_HALF_H, int(x) - _EYE_HALF_W:int(x) + _EYE_HALF_W]
            for x, y in _REFERENCE[:2]]
    return float(np.mean([eye.mean() for eye in eyes]) / max(1.0, float(grey[_SKIN].mean())))


def face_quality(image_bgr: np.ndarray, detection: Detection) -> float:
    size, sharp, frontal = size_score(detection), sharpness_score(image_bgr, detection), frontal_score(detection)
    if frontal is None:
        return float(np.clip(0.55 * size + 0.45 * sharp, 0.0, 1.0))
    return float(np.clip(0.4 * size + 0.3 * sharp + 0.3 * frontal, 0.0, 1.0))
