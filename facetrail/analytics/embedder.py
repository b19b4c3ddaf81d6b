"""128-d face embeddings with dlib's ResNet (the model face_recognition uses).

Each face is aligned by dlib's 5-point shape predictor run on the detector's box,
on the full-resolution frame: the downscaled detection frame loses the detail the
embedding needs. Only a margin around each face is converted to RGB, not the frame.
dlib cuts the aligned chip; the ResNet itself runs in OpenCV's DNN engine with
dlib's weights (face_resnet), several times faster than the dlib-bin wheel.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass

import numpy as np

from facetrail.analytics.detector import Detection
from facetrail.analytics.face_resnet import CHIP_PADDING, CHIP_SIZE, FaceResNet
from facetrail.watchlist import EMBEDDING_DIM

# The crop around a face must hold the aligned chip (dlib pads the face by 25%).
_CROP_MARGIN = 0.6


@dataclass(frozen=True)
class _Models:
    shape_predictor: object
    resnet: FaceResNet


_models: _Models | None = None
_models_lock = threading.Lock()


def _load_models() -> _Models:
    """Load the two models once per process."""
    global _models
    with _models_lock:
        if _models is None:
            import dlib

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # face_recognition_models imports pkg_resources
                import face_recognition_models as files

            _models = _Models(
                shape_predictor=dlib.shape_predictor(files.pose_predictor_five_point_model_location()),
                resnet=FaceResNet(files.face_recognition_model_location()),
            )
    return _models


class FaceEmbedder:
    def __init__(self):
        import dlib

        self._dlib = dlib
        self._models = _load_models()

    def _crop(self, image_bgr: np.ndarray, d: Detection):
        """RGB margin around one face and the face's rectangle inside it."""
        pad = int(round(_CROP_MARGIN * max(d.w, d.h)))
        x0, y0 = max(0, d.x - pad), max(0, d.y - pad)
        x1, y1 = min(image_bgr.shape[1], d.x + d.w + pad), min(image_bgr.shape[0], d.y + d.h + pad)
        rgb = np.ascontiguousarray(image_bgr[y0:y1, x0:x1, ::-1])
        rect = self._dlib.rectangle(d.x - x0, d.y - y0, d.x - x0 + d.w - 1, d.y - y0 + d.h - 1)
        return rgb, rect

    def _chip(self, image_bgr: np.ndarray, detection: Detection) -> np.ndarray:
        """The aligned 150x150 RGB chip, cut as dlib's compute_face_descriptor cuts it."""
        rgb, rect = self._crop(image_bgr, detection)
        shape = self._models.shape_predictor(rgb, rect)
        return self._dlib.get_face_chip(rgb, shape, size=CHIP_SIZE, padding=CHIP_PADDING)

    def embed(self, image_bgr: np.ndarray, detections: list[Detection]) -> np.ndarray:
        """(n, 128) float32 embeddings, one per detection, in order."""
        if not detections:
            return np.zeros((0, EMBEDDING_DIM), np.float32)
        # One batched forward: the ResNet runs all chips together.
        chips = np.stack([self._chip(image_bgr, d) for d in detections])
        return self._models.resnet.descriptors(chips)
