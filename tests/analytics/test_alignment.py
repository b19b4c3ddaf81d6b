import cv2
import numpy as np

from facetrail.analytics.alignment import ARCFACE_112, aligned_chip, retail_0095_reference, similarity
from facetrail.ingest.pixels import Pixels


def test_the_retail_0095_reference_is_arcfaces_shifted_and_stretched():
    reference = retail_0095_reference(128)
    assert np.allclose(reference[0], [(38.2946 - 8) / 96 * 128, 51.6963 / 112 * 128], atol=1e-4)
    assert reference.shape == (5, 2)


def test_points_that_are_a_rotated_scaled_copy_of_the_reference_map_back_onto_it_exactly():
    angle, scale, shift = np.deg2rad(17), 2.3, np.array([400.0, 250.0])
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    landmarks = ARCFACE_112 @ rotation.T + shift
    matrix = similarity(landmarks, ARCFACE_112)
    mapped = landmarks @ matrix[:, :2].T + matrix[:, 2]
    assert np.allclose(mapped, ARCFACE_112, atol=1e-3)


def test_a_chip_cut_from_the_faces_region_equals_one_cut_from_the_whole_frame():
    rng = np.random.default_rng(3)
    frame = cv2.GaussianBlur(rng.integers(0, 255, (720, 1280, 3), dtype=np.uint8), (0, 0), 2)
    landmarks = ARCFACE_112 * 1.4 + np.array([600.0, 300.0], np.float32)
    reference = retail_0095_reference(128)
    whole = cv2.warpAffine(frame, similarity(landmarks, reference), (128, 128), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)
    assert np.abs(aligned_chip(Pixels.of_bgr(frame), landmarks, reference, 128).astype(int) - whole).max() <= 1
