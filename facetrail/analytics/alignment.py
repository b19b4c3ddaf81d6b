"""Aligning a face to a model's reference points by a 5-point similarity transform.

Embedding models are trained on faces warped so that the eyes, the nose tip and the
mouth corners land on fixed points of the input; the same warp at inference is what
lets two photos of one person embed close together. Only a margin around the face is
converted from the decoded frame, not the whole picture.
"""

from __future__ import annotations

import cv2
import numpy as np

from facetrail.ingest.pixels import Pixels

# ArcFace's reference points for a 112x112 crop (right eye, left eye, nose tip, right and left mouth corner,
# as the subject sees them: the right eye is on the image's left), the order YuNet gives its landmarks in.
ARCFACE_112 = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]], np.float32)


def retail_0095_reference(side: int = 128) -> np.ndarray:
    """face-reidentification-retail-0095's points: ArcFace's, 8 px left for a 96x112 crop, stretched to side x side."""
    return ((ARCFACE_112 - np.array([8.0, 0.0], np.float32)) / np.array([96.0, 112.0], np.float32) * side).astype(np.float32)


def similarity(landmarks: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """2x3 matrix of the least-squares similarity (rotation, uniform scale, shift) taking landmarks onto reference."""
    src, dst = np.asarray(landmarks, np.float64), np.asarray(reference, np.float64)
    src_mean, dst_mean = src.mean(0), dst.mean(0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    # Umeyama's closed form, restricted to 2-D similarities: z = a + ib maps src_c onto dst_c
    norm = (src_c**2).sum()
    if norm < 1e-9:
        raise ValueError("landmarks are all at one point")
    a = (src_c[:, 0] * dst_c[:, 0] + src_c[:, 1] * dst_c[:, 1]).sum() / norm
    b = (src_c[:, 0] * dst_c[:, 1] - src_c[:, 1] * dst_c[:, 0]).sum() / norm
    rotation = np.array([[a, -b], [b, a]])
    shift = dst_mean - rotation @ src_mean
    return np.hstack([rotation, shift[:, None]]).astype(np.float32)


def aligned_chip(pixels: Pixels, landmarks: np.ndarray, reference: np.ndarray, side: int,
                 interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """side x side BGR chip of the face warped onto `reference`; reads only the part of the frame the chip covers."""
    matrix = similarity(landmarks, reference)
    # the chip's corners in frame pixels bound the region to convert
    inverse = cv2.invertAffineTransform(matrix)
    corners = np.array([[0, 0, 1], [side, 0, 1], [0, side, 1], [side, side, 1]], np.float32) @ inverse.T
    x0, y0 = np.floor(corners.min(0)).astype(int) - 2
    x1, y1 = np.ceil(corners.max(0)).astype(int) + 2
    x0, y0 = max(0, x0), max(0, y0)
    region = pixels.region(int(x0), int(y0), int(x1 - x0), int(y1 - y0))
    if region.size == 0:
        return np.zeros((side, side, 3), np.uint8)
    shifted = matrix.copy()
    shifted[:, 2] += matrix[:, :2] @ np.array([x0, y0], np.float32)
    return cv2.warpAffine(region, shifted, (side, side), flags=interpolation, borderMode=cv2.BORDER_REPLICATE)
