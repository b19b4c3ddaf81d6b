"""Real face embeddings for the benchmarks: the lfw-dev photos' embeddings, per embedding model.

They come from the analytics tests' embedding cache (tests/analytics/lfw.py,
under .cache/analytics), computed once where missing.
"""

from __future__ import annotations

import numpy as np

from bench.report import CACHE, ROOT

SHARED = ROOT.parent / "shared"
LFW = SHARED / "faces" / "lfw-dev"
MODELS = SHARED / "models"
CACHE_MODELS = CACHE / "models"  # never fetched into: the reference models are read from ../shared
YUNET = MODELS / "face_detection_yunet_2023mar.onnx"
RETAIL_FP16 = "face-reidentification-retail-0095-fp16"
RETAIL_INT8 = "face-reidentification-retail-0095-fp16-int8"


class MissingData(Exception):
    """Reference data the section needs is absent; the message says which."""


def models_config():
    """Where the bench's facetrail finds its models: ../shared/models first, never the user's own cache."""
    from facetrail.config import ModelsConfig

    return ModelsConfig(dir=MODELS if MODELS.is_dir() else None, cache=CACHE_MODELS)


def world_models() -> dict:
    """The `models` block of the configs the bench writes: the config's own resolution finds ../shared/models."""
    return {"dir": str(MODELS), "cache": str(CACHE_MODELS)} if MODELS.is_dir() else {"cache": str(CACHE_MODELS)}


def detector_config(**overrides):
    """YuNet from ../shared/models when present, else dlib's HOG."""
    from facetrail.config import DetectorConfig

    if YUNET.is_file():
        return DetectorConfig(backend="yunet", yunet_model=YUNET, **overrides)
    return DetectorConfig(backend="hog", **overrides)


def embedder(model: str | None = None, threads: int = 0):
    """dlib's ResNet (model None), or the named OpenVINO model from ../shared/models."""
    from facetrail.analytics.dlib_embedder import DlibEmbedder
    from facetrail.analytics.face_models import choose, embedder_of
    from facetrail.config import AnalysisConfig, EmbedderConfig

    if model is None:
        return DlibEmbedder()
    choice = choose(AnalysisConfig(embedder=EmbedderConfig(backend="openvino", model=model)), models_config())
    return embedder_of(choice, threads)


def lfw_cache(model: str | None = None):
    """The analytics tests' LFW embedding cache, with this machine's detector and the given embedder."""
    if not (LFW / "labels.csv").is_file():
        raise MissingData(f"{LFW} is absent (../shared/faces/lfw-dev)")
    from facetrail.analytics.face_models import create_detector
    from tests.analytics.lfw import EmbeddingCache

    return EmbeddingCache(create_detector(detector_config()), embedder(model))


def lfw_embeddings(model: str | None = None) -> np.ndarray:
    """Every lfw-dev photo's embedding where a face is found: (n, dim) float32. Those not cached yet are
    computed and cached (a few minutes on a fresh machine), so no section depends on another having run first."""
    from tests.analytics.lfw import identities

    cache = lfw_cache(model)
    vectors = [v for photos in identities().values() for photo in photos if (v := cache.embedding(photo)) is not None]
    cache.save()
    return np.stack(vectors).astype(np.float32)
