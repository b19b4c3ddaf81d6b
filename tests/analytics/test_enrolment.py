import cv2
import numpy as np
import pytest

from facetrail.analytics.enrolment import EnrolmentError, embed_enrolment_photo, load_image

from .occlusion import with_dark_glasses

DEEPFACE_WEBP = "/work/shared/faces/deepface/tests/unit/dataset/img47.jpg"


def test_a_clear_photo_gives_one_embedding_close_to_another_photo_of_the_person(obama, obama2, hog_detector, embedder):
    a = embed_enrolment_photo(obama, hog_detector, embedder)
    b = embed_enrolment_photo(obama2, hog_detector, embedder)
    assert a.shape == (128,) and a.dtype == np.float32 and np.linalg.norm(a - b) < 0.5


def test_a_photo_without_a_face_is_refused(hog_detector, embedder):
    with pytest.raises(EnrolmentError, match="no face"):
        embed_enrolment_photo(np.full((600, 600, 3), 200, np.uint8), hog_detector, embedder)


def test_a_photo_of_two_people_is_refused(obama, biden, hog_detector, embedder):
    canvas = np.zeros((1200, 2000, 3), np.uint8)
    canvas[: obama.shape[0], : obama.shape[1]] = obama
    canvas[:1200, 1000:1970] = biden[:1200]
    with pytest.raises(EnrolmentError, match="2 faces"):
        embed_enrolment_photo(canvas, hog_detector, embedder)


def test_a_small_background_face_does_not_block_enrolment(obama, biden, hog_detector, embedder):
    canvas = np.zeros((1200, 1600, 3), np.uint8)
    canvas[: obama.shape[0], : obama.shape[1]] = obama
    small_biden = cv2.resize(biden, None, fx=0.3, fy=0.3, interpolation=cv2.INTER_AREA)  # face ~80 px vs ~240 px
    canvas[100 : 100 + small_biden.shape[0], 1200 : 1200 + small_biden.shape[1]] = small_biden
    alone = embed_enrolment_photo(obama, hog_detector, embedder)
    assert np.linalg.norm(embed_enrolment_photo(canvas, hog_detector, embedder) - alone) < 0.1


def test_a_face_too_small_is_refused(obama, hog_detector, embedder):
    tiny = cv2.resize(obama, None, fx=0.2, fy=0.2, interpolation=cv2.INTER_AREA)  # face ~48 px wide
    padded = cv2.copyMakeBorder(tiny, 100, 100, 100, 100, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    with pytest.raises(EnrolmentError, match="too small"):
        embed_enrolment_photo(padded, hog_detector, embedder, min_face_px=60)


def test_a_blurred_face_is_refused_as_too_poor(obama, hog_detector, embedder):
    blurred = cv2.GaussianBlur(obama, (0, 0), 25)
    with pytest.raises(EnrolmentError, match="too poor|no face"):
        embed_enrolment_photo(blurred, hog_detector, embedder, min_quality=0.8)


def test_a_face_behind_dark_glasses_is_refused_as_eyes_not_visible(obama, hog_detector, embedder):
    hidden = with_dark_glasses(obama, hog_detector.detect(obama)[0])
    with pytest.raises(EnrolmentError, match="eyes not visible"):
        embed_enrolment_photo(hidden, hog_detector, embedder)


def test_load_image_refuses_a_file_that_is_not_an_image(tmp_path):
    text = tmp_path / "notes.jpg"
    text.write_text("this is not a photo")
    with pytest.raises(EnrolmentError, match="not a readable image"):
        load_image(text)


def test_load_image_refuses_a_missing_file(tmp_path):
    with pytest.raises(EnrolmentError, match="no such file"):
        load_image(tmp_path / "absent.jpg")


def test_load_image_refuses_a_truncated_jpeg(photos, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes((photos / "obama.jpg").read_bytes()[:200])
    with pytest.raises(EnrolmentError, match="not a readable image"):
        load_image(broken)


@pytest.mark.shared
def test_load_image_reads_a_webp_named_jpg():
    from pathlib import Path

    if not Path(DEEPFACE_WEBP).is_file():
        pytest.skip("../shared/faces/deepface is absent")
    assert load_image(DEEPFACE_WEBP).shape == (1800, 1350, 3)


def test_load_image_reads_a_jpeg(photos):
    assert load_image(photos / "obama.jpg").shape == (1137, 910, 3)


def _side_by_side(obama, biden) -> np.ndarray:
    canvas = np.zeros((1200, 2000, 3), np.uint8)
    canvas[: obama.shape[0], : obama.shape[1]] = obama
    canvas[:1200, 1000:1970] = biden[:1200]
    return canvas


def test_refusing_a_group_photo_names_the_option_that_picks_a_face(obama, biden, hog_detector, embedder):
    with pytest.raises(EnrolmentError, match="--face central"):
        embed_enrolment_photo(_side_by_side(obama, biden), hog_detector, embedder)


def test_the_enroller_may_point_at_the_face_to_enrol_in_a_group_photo(obama, biden, hog_detector, embedder):
    from facetrail.analytics.enrolment import PointedFace

    canvas = _side_by_side(obama, biden)
    biden_face = max(hog_detector.detect(canvas), key=lambda d: d.x)
    chosen = embed_enrolment_photo(canvas, hog_detector, embedder,
                                   pick=PointedFace(biden_face.x, biden_face.y, biden_face.w, biden_face.h))
    assert np.linalg.norm(chosen - embed_enrolment_photo(biden, hog_detector, embedder)) < 0.1


def test_pointing_where_no_face_was_found_is_refused(obama, hog_detector, embedder):
    from facetrail.analytics.enrolment import PointedFace

    with pytest.raises(EnrolmentError, match="no detected face where"):
        embed_enrolment_photo(obama, hog_detector, embedder, pick=PointedFace(0, 0, 30, 30))


def test_the_largest_face_of_a_group_photo_can_be_chosen(obama, biden, hog_detector, embedder):
    canvas = np.zeros((1200, 1600, 3), np.uint8)
    canvas[: obama.shape[0], : obama.shape[1]] = obama
    smaller = cv2.resize(biden, None, fx=0.7, fy=0.7, interpolation=cv2.INTER_AREA)
    canvas[: min(1200, smaller.shape[0]), 900 : 900 + min(700, smaller.shape[1])] = smaller[:1200, :700]
    largest = embed_enrolment_photo(canvas, hog_detector, embedder, pick="largest")
    assert np.linalg.norm(largest - embed_enrolment_photo(obama, hog_detector, embedder)) < 0.1


def test_the_face_nearest_the_centre_can_be_chosen(obama, biden, hog_detector, embedder):
    from facetrail.analytics.detector import Detection
    from facetrail.analytics.enrolment import central_face

    faces = [Detection(10, 10, 300, 300, 1.0), Detection(900, 500, 200, 200, 1.0)]
    assert central_face((1200, 2000, 3), faces) is faces[1]


def test_a_small_second_face_beside_the_person_is_not_offered_as_enrollable(obama, hog_detector):
    """A portrait with a mission patch or badge: the small 'face' is flagged, as `main` would treat it as background."""
    from facetrail.analytics.enrolment import faces_in_photo

    canvas = np.full((1600, 1800, 3), 120, np.uint8)
    canvas[: obama.shape[0], : obama.shape[1]] = obama
    patch = cv2.resize(obama, (obama.shape[1] // 3, obama.shape[0] // 3))
    canvas[1200: 1200 + patch.shape[0], 1300: 1300 + patch.shape[1]] = patch
    verdicts = sorted(faces_in_photo(canvas, hog_detector, min_face_px=20), key=lambda v: -v.face.w)
    assert len(verdicts) == 2, "precondition: both faces are found"
    assert not any("much smaller" in p for p in verdicts[0].problems)
    assert any("much smaller than the largest face" in p for p in verdicts[1].problems)
