"""128-d face embeddings with dlib's ResNet (the model face_recognition uses).

Each face is aligned by dlib's 5-point shape predictor run on the detector's box,
on the full-resolution frame: the downscaled detection frame loses the detail the
embedding needs. Only a margin around each face is converted to RGB, not the frame.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass

import numpy as np

from facetrail.analytics.detector import Detection
from facetrail.watchlist import EMBEDDING_DIM

# The crop around a face must hold the aligned chip (dlib pads the face by 25%).
_CROP_MARGIN = 0.6


@dataclass(frozen=True)
class _Models:
    shape_predictor: object
    recogniser: object


_models: _Models | None = None
_models_lock = threading.Lock()


def _load_models() -> _Models:
    """Load the two dlib models once per process (about 100 MB, ~0.5 s)."""
    global _models
    with _models_lock:
        if _models is None:
            import dlib

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # face_recognition_models imports pkg_resources
                import face_recognition_models as files

            _models = _Models(
                shape_predictor=dlib.shape_predictor(files.pose_predictor_five_point_model_location()),
                recogniser=dlib.face_recognition_model_v1(files.face_recognition_model_location()),
            )
    return _models


class FaceEmbedder:
    def __init__(self, num_jitters: int = 0):
        import dlib

        self._dlib = dlib
        self._models = _load_models()
        self.num_jitters = num_jitters

    def _crop(self, image_bgr: np.ndarray, d: Detection):
        """RGB margin around one face and the face's rectangle inside it."""
        pad = int(round(_CROP_MARGIN * max(d.w, d.h)))
        x0, y0 = max(0, d.x - pad), max(0, d.y - pad)
        x1, y1 = min(image_bgr.shape[1], d.x + d.w + pad), min(image_bgr.shape[0], d.y + d.h + pad)
        rgb = np.ascontiguousarray(image_bgr[y0:y1, x0:x1, ::-1])
        rect = self._dlib.rectangle(d.x - x0, d.y - y0, d.x - x0 + d.w - 1, d.y - y0 + d.h - 1)
        return rgb, rect

    def embed(self, image_bgr: np.ndarray, detections: list[Detection]) -> np.ndarray:
        """(n, 128) float32 embeddings, one per detection, in order."""
        if not detections:
            return np.zeros((0, EMBEDDING_DIM), np.float32)
        images, shapes = [], []
        for detection in detections:
            rgb, rect = self._crop(image_bgr, detection)
            faces = self._dlib.full_object_detections()
            faces.append(self._models.shape_predictor(rgb, rect))
            images.append(rgb)
            shapes.append(faces)
        # One batched call: the ResNet runs all chips together.
        batches = self._models.recogniser.compute_face_descriptor(images, shapes, self.num_jitters)
        return np.asarray([np.asarray(batch[0]) for batch in batches], dtype=np.float32).reshape(-1, EMBEDDING_DIM)
