"""Real face embeddings for the benchmarks: the lfw-dev photos' dlib embeddings.

They come from the analytics tests' embedding cache (tests/analytics/lfw.py,
under .cache/analytics), computed once where missing.
"""

from __future__ import annotations

import numpy as np

from bench.report import ROOT

SHARED = ROOT.parent / "shared"
LFW = SHARED / "faces" / "lfw-dev"
YUNET = SHARED / "models" / "face_detection_yunet_2023mar.onnx"


class MissingData(Exception):
    """Reference data the section needs is absent; the message says which."""


def detector_config(**overrides):
    """YuNet from ../shared/models when present, else dlib's HOG."""
    from facetrail.config import DetectorConfig

    if YUNET.is_file():
        return DetectorConfig(backend="yunet", yunet_model=YUNET, **overrides)
    return DetectorConfig(backend="hog", **overrides)


def lfw_cache():
    """The analytics tests' LFW embedding cache, with this machine's detector."""
    if not (LFW / "labels.csv").is_file():
        raise MissingData(f"{LFW} is absent (../shared/faces/lfw-dev)")
    from facetrail.analytics.detector import create_detector
    from facetrail.analytics.embedder import FaceEmbedder
    from tests.analytics.lfw import EmbeddingCache

    return EmbeddingCache(create_detector(detector_config()), FaceEmbedder())


def cached_embeddings() -> np.ndarray:
    """Every LFW embedding already in the cache (no computing): (n, 128) float32."""
    cache = lfw_cache()
    known = [v for v in cache._known.values() if not np.isnan(v).any()]
    if len(known) < 500:
        raise MissingData("fewer than 500 cached lfw-dev embeddings; run `python -m bench --only accuracy` first")
    return np.stack(known).astype(np.float32)
