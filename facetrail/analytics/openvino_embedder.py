"""256-d face embeddings with Intel's face-reidentification-retail-0095 on the OpenVINO runtime (CPU).

Each face is warped onto the model's reference points from five landmarks (YuNet's, or
dlib's estimate for detectors without them), as a 128x128 BGR chip in 0..255 with no
mean or scale (../shared/README.md states the preprocessing). The faces of one picture
run as one batch. Output vectors are L2-normalised and compared by cosine.

The model is identity-only: it has no attribute heads, so nothing but identity is inferred.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from facetrail.analytics.alignment import aligned_chip, retail_0095_reference
from facetrail.analytics.detector import Detection
from facetrail.analytics.embedder import EmbedderError, EmbeddingSpace, as_pixels
from facetrail.analytics.landmarks import five_landmarks
from facetrail.ingest.pixels import Pixels

CHIP_SIDE = 128
_REFERENCE = retail_0095_reference(CHIP_SIDE)


def retail_0095_space(model: str) -> EmbeddingSpace:
    # threshold and ratio: lfw-dev study, docs/threshold.md
    return EmbeddingSpace(model=model, dim=256, metric="cosine", threshold=0.50, max_distance_ratio=0.85,
                          track_different_above=0.8, track_same_below=0.4)


# Faces go to the network in batches of at most this many: OpenVINO spent 40-90 ms preparing each batch size
# it had not seen and kept 7-30 MB per size, so a crowd's every count of faces cost a worker memory for good.
# Up to 8 the sizes are kept as they come (splitting 7 into 4 + 2 + 1 cost 50% more CPU than one batch of 7).
MAX_BATCH = 8


def batch_chunks(count: int) -> list[tuple[int, int]]:
    """(start, size) of the batches that embed `count` faces: full batches of MAX_BATCH, then the rest."""
    return [(start, min(MAX_BATCH, count - start)) for start in range(0, count, MAX_BATCH)]


class OpenVinoEmbedder:
    def __init__(self, model: str, xml: Path, weights: Path, threads: int = 0):
        try:
            import openvino as ov
        except ImportError:
            raise EmbedderError("the openvino package is not installed (pip install openvino)") from None
        self.space = retail_0095_space(model)
        core = ov.Core()
        try:
            network = core.read_model(str(xml), str(weights))
            network.reshape([-1, 3, CHIP_SIDE, CHIP_SIDE])  # any number of faces per call
            settings = {"PERFORMANCE_HINT": "LATENCY", "CPU_RUNTIME_CACHE_CAPACITY": MAX_BATCH} | \
                ({"INFERENCE_NUM_THREADS": threads} if threads else {})
            self._compiled = core.compile_model(network, "CPU", settings)
        except RuntimeError as exc:
            raise EmbedderError(f"{xml}: OpenVINO cannot load the model ({str(exc).strip().splitlines()[0]})") from None
        self._request = self._compiled.create_infer_request()

    def chips(self, pixels: Pixels, detections: Sequence[Detection]) -> np.ndarray:
        """(n, 128, 128, 3) aligned BGR chips."""
        return np.stack([aligned_chip(pixels, five_landmarks(pixels, d), _REFERENCE, CHIP_SIDE) for d in detections])

    def embed(self, image: Pixels | np.ndarray, detections: Sequence[Detection]) -> np.ndarray:
        if not detections:
            return np.zeros((0, self.space.dim), np.float32)
        return self.embed_chips(self.chips(as_pixels(image), detections))

    def embed_chips(self, chips: np.ndarray) -> np.ndarray:
        """(n, dim) unit embeddings of (n, 128, 128, 3) aligned BGR chips."""
        batch = chips.transpose(0, 3, 1, 2).astype(np.float32)
        vectors = np.concatenate([np.asarray(self._request.infer({0: batch[start:start + size]})[0], np.float32)
                                  .reshape(size, -1) for start, size in batch_chunks(len(chips))])
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)
