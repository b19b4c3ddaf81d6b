import cv2
import numpy as np

import pytest

from facetrail.analytics.detector import Detection
from facetrail.analytics.quality import eye_brightness, face_quality

from .occlusion import with_dark_glasses


def test_a_sharp_frontal_large_face_scores_high(obama, yunet_detector):
    face = yunet_detector.detect(obama)[0]
    assert face_quality(obama, face) > 0.8


def test_a_blurred_face_scores_lower_than_the_sharp_one(obama, yunet_detector):
    face = yunet_detector.detect(obama)[0]
    blurred = cv2.GaussianBlur(obama, (0, 0), 12)
    assert face_quality(blurred, face) < face_quality(obama, face) - 0.2


def test_a_small_face_scores_lower_than_a_large_one(obama, yunet_detector):
    small = cv2.resize(obama, None, fx=0.15, fy=0.15, interpolation=cv2.INTER_AREA)
    large_face = yunet_detector.detect(obama)[0]
    small_face = Detection(int(large_face.x * 0.15), int(large_face.y * 0.15), int(large_face.w * 0.15), int(large_face.h * 0.15),
                           0.9, large_face.landmarks * 0.15)
    assert face_quality(small, small_face) < face_quality(obama, large_face) - 0.2


def test_a_face_turned_away_scores_lower_on_frontalness():
    flat = np.full((200, 200, 3), 128, np.uint8)
    frontal = Detection(50, 50, 100, 100, 0.9, np.array([[80, 90], [120, 90], [100, 110], [85, 130], [115, 130]], np.float32))
    profile = Detection(50, 50, 100, 100, 0.9, np.array([[80, 90], [120, 90], [122, 110], [85, 130], [115, 130]], np.float32))
    assert face_quality(flat, profile) < face_quality(flat, frontal) - 0.2


def test_quality_stays_within_zero_and_one_for_a_face_at_the_border():
    image = np.random.default_rng(0).integers(0, 255, (100, 100, 3), np.uint8)
    q = face_quality(image, Detection(90, 90, 10, 10, 0.9, None))
    assert 0.0 <= q <= 1.0


@pytest.mark.parametrize("detector", ["hog_detector", "yunet_detector"])
def test_dark_glasses_over_the_eyes_make_them_much_darker_than_the_cheeks(obama, detector, request):
    from facetrail.analytics.enrolment import MIN_EYE_BRIGHTNESS

    face = request.getfixturevalue(detector).detect(obama)[0]
    assert eye_brightness(obama, face) > 0.45
    assert eye_brightness(with_dark_glasses(obama, face), face) < MIN_EYE_BRIGHTNESS


def test_real_dark_glasses_score_below_eyes_in_shadow_on_lfw_dev_photos(shared_dir, yunet_detector):
    from facetrail.analytics.enrolment import MIN_EYE_BRIGHTNESS

    def score(name: str) -> float:
        image = cv2.imread(str(shared_dir / "faces" / "lfw-dev" / name.rsplit("_", 1)[0] / f"{name}.jpg"))
        face = min(yunet_detector.detect(image), key=lambda f: abs(f.centre[0] - 125) + abs(f.centre[1] - 125))
        return eye_brightness(image, face)

    hidden = [score(n) for n in ("Sharon_Stone_0001", "Jane_Fonda_0002", "Heath_Ledger_0002", "Kevin_Costner_0002")]
    # eyes shaded by a brow or a cap, and eyes with dark make-up: the darkest visible eyes of lfw-dev
    visible = [score(n) for n in ("Andre_Agassi_0031", "Condoleezza_Rice_0008", "Aaron_Sorkin_0001")]
    assert max(hidden) < MIN_EYE_BRIGHTNESS < min(visible), (hidden, visible)
