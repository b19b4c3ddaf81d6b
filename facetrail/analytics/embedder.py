"""What every face embedder offers: embeddings of faces in one picture, in a named embedding space.

Templates (enrolment embeddings) are only ever compared with probes of the same space:
the space's name is stored with every template, and the matcher is built per space.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, Sequence

import numpy as np

from facetrail.analytics.detector import Detection
from facetrail.ingest.pixels import Pixels

Metric = Literal["euclidean", "cosine"]


class EmbedderError(Exception):
    """An embedding model that cannot be loaded; the message says what to fix."""


@dataclass(frozen=True)
class EmbeddingSpace:
    """The model an embedding comes from and how its embeddings compare."""

    model: str
    """Stored with each template; two spaces of different names are never compared."""
    dim: int
    metric: Metric
    """euclidean: distance between raw vectors; cosine: 1 - cosine similarity of L2-normalised vectors."""
    threshold: float
    """Largest distance accepted as a match unless the config or a calibration says otherwise (docs/threshold.md)."""
    max_distance_ratio: float
    """The ratio test's default for this space (docs/threshold.md)."""
    track_different_above: float
    """Two faces of a camera this far apart are surely different people (the tracker refuses to link them)."""
    track_same_below: float
    """Two faces this near are surely one person (the tracker takes a lost pass up again)."""


class FaceEmbedder(Protocol):
    space: EmbeddingSpace

    def embed(self, image: Pixels | np.ndarray, detections: Sequence[Detection]) -> np.ndarray:
        """(n, space.dim) float32 embeddings of the detections of one picture (BGR or decoded planes), in order."""
        ...


def as_pixels(image: Pixels | np.ndarray) -> Pixels:
    return image if isinstance(image, Pixels) else Pixels.of_bgr(image)
