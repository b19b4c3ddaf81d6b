"""128-d face embeddings with dlib's ResNet (the model face_recognition uses): the fallback that always installs.

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
from typing import Any, Protocol, Sequence

import numpy as np

from facetrail.analytics.detector import Detection
from facetrail.analytics.embedder import EmbeddingSpace, as_pixels
from facetrail.analytics.face_resnet import CHIP_PADDING, CHIP_SIZE, FaceResNet
from facetrail.ingest.pixels import Pixels

# Distances chosen on lfw-dev (docs/threshold.md): 0.48 keeps per-shot FPIR near 4% up to 500 entries.
DLIB_SPACE = EmbeddingSpace(model="dlib-resnet-v1", dim=128, metric="euclidean", threshold=0.48, max_distance_ratio=0.9,
                            track_different_above=0.75, track_same_below=0.4)

# The crop around a face must hold the aligned chip (dlib pads the face by 25%).
_CROP_MARGIN = 0.6


class _ShapePredictor(Protocol):
    """What dlib.shape_predictor is to this module (dlib ships no types): the landmarks of the face in a box."""

    def __call__(self, image: np.ndarray, box: Any, /) -> Any: ...


@dataclass(frozen=True)
class _Models:
    shape_predictor: _ShapePredictor
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


class DlibEmbedder:
    space = DLIB_SPACE

    def __init__(self) -> None:
        import dlib

        self._dlib = dlib
        self._models = _load_models()

    def _crop(self, pixels: Pixels, d: Detection):
        """RGB margin around one face and the face's rectangle inside it."""
        pad = int(round(_CROP_MARGIN * max(d.w, d.h)))
        x0, y0 = max(0, d.x - pad), max(0, d.y - pad)
        rgb = np.ascontiguousarray(pixels.region(x0, y0, d.x + d.w + pad - x0, d.y + d.h + pad - y0)[:, :, ::-1])
        rect = self._dlib.rectangle(d.x - x0, d.y - y0, d.x - x0 + d.w - 1, d.y - y0 + d.h - 1)
        return rgb, rect

    def _chip(self, pixels: Pixels, detection: Detection) -> np.ndarray:
        """The aligned 150x150 RGB chip, cut as dlib's compute_face_descriptor cuts it."""
        rgb, rect = self._crop(pixels, detection)
        shape = self._models.shape_predictor(rgb, rect)
        return self._dlib.get_face_chip(rgb, shape, size=CHIP_SIZE, padding=CHIP_PADDING)

    def embed(self, image: Pixels | np.ndarray, detections: Sequence[Detection]) -> np.ndarray:
        """(n, 128) float32 embeddings, one per detection, in order."""
        if not detections:
            return np.zeros((0, self.space.dim), np.float32)
        pixels = as_pixels(image)
        # One batched forward: the ResNet runs all chips together.
        chips = np.stack([self._chip(pixels, d) for d in detections])
        return self._models.resnet.descriptors(chips)
