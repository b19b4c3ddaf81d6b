import numpy as np
import pytest

from facetrail.analytics.detector import DetectorError, HogDetector, YuNetDetector, create_detector
from facetrail.config import DetectorConfig


def test_hog_finds_the_one_face_in_obama_jpg(obama, hog_detector):
    faces = hog_detector.detect(obama)
    assert len(faces) == 1
    face = faces[0]
    # The box is in full-resolution pixels although detection ran at 640 px wide.
    assert 200 < face.w < 320 and 330 < face.x + face.w / 2 < 650 and face.landmarks is None


def test_yunet_finds_the_one_face_in_obama_jpg_with_landmarks(obama, yunet_detector):
    faces = yunet_detector.detect(obama)
    assert len(faces) == 1
    face = faces[0]
    assert 200 < face.w < 320 and face.score > 0.8
    assert face.landmarks.shape == (5, 2)
    right_eye, left_eye = face.landmarks[0], face.landmarks[1]
    assert face.x < right_eye[0] < left_eye[0] < face.x + face.w


def test_both_backends_agree_on_where_the_face_is(obama, hog_detector, yunet_detector):
    hog, yunet = hog_detector.detect(obama)[0], yunet_detector.detect(obama)[0]
    assert np.hypot(hog.centre[0] - yunet.centre[0], hog.centre[1] - yunet.centre[1]) < 0.25 * hog.w


def test_a_blank_frame_has_no_faces(hog_detector, yunet_detector):
    blank = np.full((480, 640, 3), 127, np.uint8)
    assert hog_detector.detect(blank) == [] and yunet_detector.detect(blank) == []


def test_faces_narrower_than_min_face_px_are_dropped(obama, yunet_model_path):
    strict = YuNetDetector(yunet_model_path, detect_width=640, min_face_px=400)
    assert strict.detect(obama) == []


def test_create_detector_names_a_missing_yunet_model(tmp_path):
    config = DetectorConfig(backend="yunet", yunet_model=tmp_path / "missing.onnx")
    with pytest.raises(DetectorError, match="not found"):
        create_detector(config)


def test_create_detector_refuses_a_file_that_is_not_a_model(tmp_path):
    bogus = tmp_path / "model.onnx"
    bogus.write_bytes(b"not an onnx model")
    with pytest.raises(DetectorError, match="cannot be loaded"):
        create_detector(DetectorConfig(backend="yunet", yunet_model=bogus))


def test_create_detector_builds_the_hog_backend_by_default():
    assert isinstance(create_detector(DetectorConfig()), HogDetector)


def test_a_downscale_shared_by_the_caller_gives_the_detectors_own_boxes(obama, yunet_detector):
    from facetrail.analytics.detector import downscale

    own = yunet_detector.detect(obama)
    shared = yunet_detector.detect(obama, downscale(obama, yunet_detector.detect_width))
    assert [(f.x, f.y, f.w, f.h) for f in shared] == [(f.x, f.y, f.w, f.h) for f in own]
