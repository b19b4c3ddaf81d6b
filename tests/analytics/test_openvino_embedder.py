"""face-reidentification-retail-0095 on OpenVINO: aligned from five landmarks, 256-d, unit length, cosine."""

import numpy as np
import pytest

from facetrail.analytics.detector import HogDetector
from facetrail.analytics.face_models import embedder_of, choose
from facetrail.config import AnalysisConfig, ModelsConfig


@pytest.fixture(scope="module")
def retail(shared_dir, tmp_path_factory):
    choice = choose(AnalysisConfig(), ModelsConfig(dir=shared_dir / "models", cache=tmp_path_factory.mktemp("cache")))
    assert choice.embedder is not None, "the reference models must resolve"
    return embedder_of(choice, threads=1)


def _face(image, detector):
    return max(detector.detect(image), key=lambda d: d.w)


def test_embeddings_are_256_dimensional_unit_vectors_of_the_named_model(retail, obama, yunet_detector):
    vector = retail.embed(obama, [_face(obama, yunet_detector)])
    assert vector.shape == (1, 256) and vector.dtype == np.float32
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5
    assert retail.space.model == "face-reidentification-retail-0095-fp16" and retail.space.metric == "cosine"


def test_two_photos_of_one_person_are_closer_than_photos_of_two_people(retail, obama, obama2, biden, yunet_detector):
    a, b, c = (retail.embed(img, [_face(img, yunet_detector)])[0] for img in (obama, obama2, biden))
    assert float(a @ b) > 0.5 > float(a @ c)


def test_faces_embedded_together_equal_faces_embedded_one_by_one(retail, obama, yunet_detector):
    from facetrail.analytics.detector import Detection

    face = _face(obama, yunet_detector)
    shifted = Detection(face.x + 3, face.y + 2, face.w, face.h, face.score, face.landmarks + np.float32(2.5))
    together = retail.embed(obama, [face, shifted])
    alone = np.vstack([retail.embed(obama, [face]), retail.embed(obama, [shifted])])
    assert np.allclose(together, alone, atol=1e-3)


def test_a_crowd_of_faces_embeds_in_order_in_batches_no_larger_than_the_runtime_keeps(retail, obama, yunet_detector):
    from facetrail.analytics.detector import Detection
    from facetrail.analytics.openvino_embedder import MAX_BATCH, batch_chunks

    face = _face(obama, yunet_detector)
    crowd = [Detection(face.x + i, face.y, face.w, face.h, face.score, face.landmarks + np.float32([i, 0])) for i in range(13)]
    together = retail.embed(obama, crowd)
    assert together.shape == (13, 256)
    assert np.allclose(together[12], retail.embed(obama, crowd[12:])[0], atol=1e-3)  # the last face is still the last
    assert all(1 <= size <= MAX_BATCH for count in range(1, 60) for _, size in batch_chunks(count))
    assert [sum(size for _, size in batch_chunks(count)) for count in range(60)] == list(range(60))


def test_faces_from_a_detector_without_landmarks_are_aligned_by_dlibs_shape_model(retail, obama, yunet_detector):
    yunet = retail.embed(obama, [_face(obama, yunet_detector)])[0]
    hog_face = _face(obama, HogDetector(detect_width=640))
    assert hog_face.landmarks is None
    assert float(retail.embed(obama, [hog_face])[0] @ yunet) > 0.9
