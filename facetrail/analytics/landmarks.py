"""Five facial landmarks for detectors that give none (dlib's HOG), from dlib's 68-point shape predictor.

Alignment for the OpenVINO embedder needs the eyes' centres, the nose tip and the mouth
corners; YuNet gives them, HOG does not. The 68-point model ships in
face-recognition-models; it is loaded only when a HOG detector feeds that embedder.
"""

from __future__ import annotations

import threading
import warnings

import numpy as np

from facetrail.analytics.detector import Detection
from facetrail.ingest.pixels import Pixels

_MARGIN = 0.3
_predictor = None
_lock = threading.Lock()


def _shape_predictor():
    global _predictor
    with _lock:
        if _predictor is None:
            import dlib

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # face_recognition_models imports pkg_resources
                import face_recognition_models as files
            _predictor = dlib.shape_predictor(files.pose_predictor_model_location())
    return _predictor


def five_from_68(points: np.ndarray) -> np.ndarray:
    """(5, 2) in YuNet's order (right eye, left eye, nose tip, right and left mouth corner) from dlib's 68 points."""
    return np.array([points[36:42].mean(0), points[42:48].mean(0), points[30], points[48], points[54]], np.float32)


def five_landmarks(pixels: Pixels, detection: Detection) -> np.ndarray:
    """The detection's own landmarks, or dlib's estimate of them inside its box."""
    if detection.landmarks is not None:
        return np.asarray(detection.landmarks, np.float32)
    import dlib

    pad = int(round(_MARGIN * max(detection.w, detection.h)))
    x0, y0 = max(0, detection.x - pad), max(0, detection.y - pad)
    crop = np.ascontiguousarray(pixels.region(x0, y0, detection.w + 2 * pad, detection.h + 2 * pad)[:, :, ::-1])
    box = dlib.rectangle(detection.x - x0, detection.y - y0, detection.x - x0 + detection.w - 1,
                         detection.y - y0 + detection.h - 1)
    shape = _shape_predictor()(crop, box)
    points = np.array([(p.x + x0, p.y + y0) for p in shape.parts()], np.float32)
    return five_from_68(points)
