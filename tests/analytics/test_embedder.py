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
