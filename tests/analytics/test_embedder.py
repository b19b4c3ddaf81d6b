from pathlib import Path

import numpy as np
import pytest


def test_embeddings_are_128_float32_values_per_face(obama, hog_detector, embedder):
    faces = hog_detector.detect(obama)
    embeddings = embedder.embed(obama, faces)
    assert embeddings.shape == (1, 128) and embeddings.dtype == np.float32


def test_no_faces_give_an_empty_embedding_matrix(obama, embedder):
    assert embedder.embed(obama, []).shape == (0, 128)


def test_the_same_person_is_closer_than_a_different_person(obama, obama2, biden, hog_detector, embedder, face_embedding):
    a, b, c = (face_embedding(img, hog_detector, embedder) for img in (obama, obama2, biden))
    same, different = np.linalg.norm(a - b), np.linalg.norm(a - c)
    assert same < 0.5 < different
    assert same < different - 0.2


def test_a_batch_gives_the_same_embeddings_as_one_at_a_time(obama, biden, yunet_detector, embedder):
    # Two faces in one frame: paste Biden next to Obama.
    canvas = np.zeros((1200, 2000, 3), np.uint8)
    canvas[: obama.shape[0], : obama.shape[1]] = obama
    canvas[:1200, 1000:1970] = biden[:1200]
    faces = yunet_detector.detect(canvas)
    assert len(faces) == 2
    together = embedder.embed(canvas, faces)
    alone = np.vstack([embedder.embed(canvas, [f]) for f in faces])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_yunet_and_hog_boxes_give_nearly_the_same_embedding(obama, hog_detector, yunet_detector, embedder, face_embedding):
    hog = face_embedding(obama, hog_detector, embedder)
    yunet = face_embedding(obama, yunet_detector, embedder)
    assert np.linalg.norm(hog - yunet) < 0.2


def _through_h264_frame(image: np.ndarray):
    """The photo as a decoder would hand it over: a yuv420p frame."""
    import av

    even = image[: image.shape[0] // 2 * 2, : image.shape[1] // 2 * 2]
    return av.VideoFrame.from_ndarray(np.ascontiguousarray(even[:, :, ::-1]), format="rgb24").reformat(format="yuv420p")


def test_the_fast_yuv_conversion_finds_the_same_face_and_nearly_the_same_embedding(obama, yunet_detector, embedder):
    from facetrail.ingest.pixels import Pixels

    frame = _through_h264_frame(obama)
    slow, fast = frame.to_ndarray(format="bgr24"), Pixels.of_video_frame(frame).bgr
    (a,), (b,) = yunet_detector.detect(slow), yunet_detector.detect(fast)
    assert max(abs(a.x - b.x), abs(a.y - b.y), abs(a.w - b.w), abs(a.h - b.h)) <= 3
    # dlib's embedding moves ~0.05 under +-1 grey-level noise; the two conversions differ by about that
    assert np.linalg.norm(embedder.embed(slow, [a]) - embedder.embed(fast, [a])) < 0.1


# The ResNet runs in OpenCV with dlib's weights; these pin it to dlib's own forward pass.

def _dlib_faces(photos, names):
    """(rgb, landmarks) of every face dlib's HOG finds in the named real photos."""
    import dlib
    import face_recognition_models as files

    detect = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(files.pose_predictor_five_point_model_location())
    found = []
    for name in names:
        rgb = dlib.load_rgb_image(str(photos / name))
        found += [(rgb, predictor(rgb, box)) for box in detect(rgb, 1)]
    return found


def _dlib_descriptors(faces) -> np.ndarray:
    """dlib's own ResNet on the same faces, batched as the old embedder called it."""
    import dlib
    import face_recognition_models as files

    recogniser = dlib.face_recognition_model_v1(files.face_recognition_model_location())
    shapes = [dlib.full_object_detections([shape]) for _, shape in faces]
    batches = recogniser.compute_face_descriptor([rgb for rgb, _ in faces], shapes, 0)
    return np.array([np.asarray(batch[0]) for batch in batches], np.float32)


def _chips(faces) -> np.ndarray:
    import dlib

    from facetrail.analytics.face_resnet import CHIP_PADDING, CHIP_SIZE

    return np.stack([dlib.get_face_chip(rgb, shape, size=CHIP_SIZE, padding=CHIP_PADDING) for rgb, shape in faces])


REAL_PHOTOS = ["obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg", "obama_partial_face.jpg"]
SHARED_PHOTOS = Path(__file__).resolve().parents[3] / "shared" / "faces" / "face_recognition" / "tests" / "test_images"


@pytest.fixture(scope="module")
def real_photos(request) -> Path:
    """face_recognition's test photos: from ../shared when present, else from its sdist (which skips offline)."""
    if all((SHARED_PHOTOS / name).is_file() for name in REAL_PHOTOS):
        return SHARED_PHOTOS
    return request.getfixturevalue("photos")


def _model_path() -> str:
    import face_recognition_models as files

    return files.face_recognition_model_location()


@pytest.fixture(scope="module")
def resnet():
    from facetrail.analytics.face_resnet import FaceResNet

    return FaceResNet(_model_path())


def test_the_opencv_resnet_gives_dlibs_descriptors_on_real_photos(real_photos, resnet):
    faces = _dlib_faces(real_photos, REAL_PHOTOS)
    assert len(faces) >= 5
    ours = np.vstack([resnet.descriptors(_chips([face])) for face in faces])
    np.testing.assert_allclose(ours, _dlib_descriptors(faces), rtol=0, atol=1e-4)


def test_a_batch_of_chips_gives_each_chips_own_descriptor(real_photos, resnet):
    faces = _dlib_faces(real_photos, REAL_PHOTOS)
    together = resnet.descriptors(_chips(faces))
    alone = np.vstack([resnet.descriptors(_chips([face])) for face in faces])
    assert together.shape == (len(faces), 128) and together.dtype == np.float32
    np.testing.assert_allclose(together, alone, rtol=0, atol=1e-5)
    np.testing.assert_allclose(together, _dlib_descriptors(faces), rtol=0, atol=1e-4)


def test_the_converted_model_is_cached_and_later_loads_read_the_cache(tmp_path, monkeypatch):
    from facetrail.analytics import face_resnet

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = face_resnet.FaceResNet(_model_path())
    (cached,) = (tmp_path / "facetrail").glob("*.onnx")
    assert not list((tmp_path / "facetrail").glob("*.tmp"))

    def no_conversion(model: bytes) -> bytes:
        raise AssertionError("converted again instead of reading the cache")

    monkeypatch.setattr(face_resnet, "convert", no_conversion)
    chips = np.random.default_rng(0).integers(0, 256, (2, 150, 150, 3), np.uint8)
    np.testing.assert_array_equal(face_resnet.FaceResNet(_model_path()).descriptors(chips), first.descriptors(chips))


def test_a_file_that_is_not_dlibs_face_model_fails_with_a_clear_error(tmp_path, monkeypatch):
    from facetrail.analytics.face_resnet import FaceResNet, FaceResNetError

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    model = tmp_path / "shape_predictor.dat"
    model.write_bytes(b"\x01\x01" * 100)
    with pytest.raises(FaceResNetError, match="cannot convert dlib's face recognition model .*shape_predictor.dat"):
        FaceResNet(model)
