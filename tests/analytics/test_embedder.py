import numpy as np


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
    from facetrail.ingest.pixels import to_bgr

    frame = _through_h264_frame(obama)
    slow, fast = frame.to_ndarray(format="bgr24"), to_bgr(frame)
    (a,), (b,) = yunet_detector.detect(slow), yunet_detector.detect(fast)
    assert max(abs(a.x - b.x), abs(a.y - b.y), abs(a.w - b.w), abs(a.h - b.h)) <= 3
    # dlib's embedding moves ~0.05 under +-1 grey-level noise; the two conversions differ by about that
    assert np.linalg.norm(embedder.embed(slow, [a]) - embedder.embed(fast, [a])) < 0.1
