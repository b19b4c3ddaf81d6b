"""Cohort passes for `facetrail calibrate`: a photo's face walked across a picture as a camera would show it.

Two camera conditions (``WALK_CONDITIONS``):

* ``clean``: 720p, an 80 px face, light sensor grain, no compression (the easy case);
* ``compound``: the way cameras degrade faces together (BENCHMARKS.md section 7's compound
  condition): 1080p, faces 40, 45 or 50 px wide, 40 % of the walks motion-blurred (the
  walker's travel during a 1/50 s shutter), 30 % dim with sensor noise, and every walk
  H.264-coded at constant rate factor 30 and decoded back, as a recording would be.

Each walk draws its own size and degradations from the seeded generator it is given, so
a calibration is repeatable. Nothing here is stored: the frames live while a walk is
analysed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from fractions import Fraction

import cv2
import numpy as np

from facetrail.ingest.frames import Frame
from facetrail.ingest.pixels import Pixels

WALK_FRAMES = 12
WALK_FPS = 5.0
PACE = 1.2
"""Face widths a walker moves sideways between two analysed frames (about 1.4 m/s at 5 fps)."""
EXPOSURE_S = 1 / 50
DIM = 0.25
NOISE_SIGMA = 4.0


@dataclass(frozen=True)
class WalkCondition:
    name: str
    size: tuple[int, int]
    faces_px: tuple[int, ...]
    """Nominal face widths; each walk draws one."""
    blurred: float = 0.0
    """Share of walks motion-blurred."""
    dim: float = 0.0
    """Share of walks in dim light with sensor noise."""
    crf: int | None = None
    """H.264 constant rate factor the walk is coded at (None: not coded)."""
    pace: float | None = None
    """Face widths moved per frame (None: across 70 % of the picture in the walk)."""


CLEAN = WalkCondition("clean", (1280, 720), (80,))
COMPOUND = WalkCondition("compound", (1920, 1080), (40, 45, 50), blurred=0.4, dim=0.3, crf=30, pace=PACE)
WALK_CONDITIONS = (CLEAN, COMPOUND)


def _sprite(image: np.ndarray, face, width: int, blur_px: int) -> tuple[np.ndarray, np.ndarray]:
    """Head and shoulders around the face scaled to `width` px of face, with a soft oval mask (blurred sideways by
    `blur_px` when the walker moved during the exposure)."""
    x0, x1 = max(0, int(face.x - 0.45 * face.w)), min(image.shape[1], int(face.x + 1.45 * face.w))
    y0, y1 = max(0, int(face.y - 0.6 * face.h)), min(image.shape[0], int(face.y + 1.55 * face.h))
    scale = width / face.w
    crop = cv2.resize(image[y0:y1, x0:x1], None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    mask = np.zeros(crop.shape[:2], np.float32)
    cv2.ellipse(mask, (crop.shape[1] // 2, crop.shape[0] // 2), (int(crop.shape[1] * 0.47), int(crop.shape[0] * 0.48)),
                0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), max(1.0, crop.shape[1] / 24))
    if blur_px > 1:
        kernel = np.full((1, blur_px), 1.0 / blur_px, np.float32)
        crop, mask = cv2.filter2D(crop, -1, kernel), cv2.filter2D(mask, -1, kernel)
    return crop, mask


def walk_frames(image: np.ndarray, face, rng: random.Random, camera_id: str = "calibration",
                condition: WalkCondition = CLEAN) -> list[Frame]:
    """The photo's face walked across a plain scene under the condition, growing a little as it nears."""
    width, height = condition.size
    px = rng.choice(condition.faces_px)
    blurred, dim = rng.random() < condition.blurred, rng.random() < condition.dim
    colour = np.array([rng.randint(70, 170) for _ in range(3)], np.int16)
    noise = np.random.default_rng(rng.randint(0, 2**31))
    grain = noise.integers(-5, 6, (height, width, 3), dtype=np.int16)
    scene = np.clip(colour + grain, 0, 255).astype(np.uint8)
    step = condition.pace * px if condition.pace else 0.7 * width / WALK_FRAMES
    begin = rng.uniform(0.1 * width, max(0.1 * width, 0.9 * width - step * WALK_FRAMES)) if condition.pace \
        else 0.15 * width
    blur = round(step * WALK_FPS * EXPOSURE_S) if blurred else 0
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    pictures = []
    for i in range(WALK_FRAMES):
        picture = np.roll(scene, 7 * i, axis=1)  # the grain changes from frame to frame, as a sensor's does
        crop, mask = _sprite(image, face, int(px * (0.9 + 0.2 * i / WALK_FRAMES)), blur)
        cx, cy = int(begin + step * i), int(height * 0.45)
        x0, y0 = max(0, cx - crop.shape[1] // 2), max(0, cy - crop.shape[0] // 2)
        h, w = min(crop.shape[0], height - y0), min(crop.shape[1], width - x0)
        alpha = mask[:h, :w, None]
        region = picture[y0:y0 + h, x0:x0 + w].astype(np.float32)
        picture[y0:y0 + h, x0:x0 + w] = (region * (1 - alpha) + crop[:h, :w] * alpha).astype(np.uint8)
        if dim:
            dimmed = picture.astype(np.float32) * DIM + noise.normal(0, NOISE_SIGMA, picture.shape)
            picture = np.clip(dimmed, 0, 255).astype(np.uint8)
        pictures.append(picture)
    times = [start + timedelta(seconds=i / WALK_FPS) for i in range(WALK_FRAMES)]
    if condition.crf is None:
        return [Frame.of_bgr(camera_id, i, t, p) for i, (t, p) in enumerate(zip(times, pictures))]
    return [Frame(camera_id, i, t, Pixels.of_video_frame(f)) for i, (t, f) in enumerate(zip(times, _coded(pictures,
                                                                                                           condition.crf)))]


def _coded(pictures: list[np.ndarray], crf: int) -> list:
    """The pictures H.264-coded at the rate factor (a key frame every 2 s) and decoded back, as PyAV video frames."""
    import av

    height, width = pictures[0].shape[:2]
    encoder = av.CodecContext.create("libx264", "w")
    encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
    encoder.time_base, encoder.framerate = Fraction(1, int(WALK_FPS)), Fraction(int(WALK_FPS), 1)
    encoder.options = {"preset": "veryfast", "crf": str(crf), "threads": "1",
                       "x264-params": "keyint=10:min-keyint=10:scenecut=0:bframes=0"}
    packets = []
    for index, picture in enumerate(pictures):
        frame = av.VideoFrame.from_ndarray(picture, format="bgr24")
        frame.pts = index
        packets += encoder.encode(frame)
    packets += encoder.encode(None)
    decoder = av.CodecContext.create("h264", "r")
    return [f for p in packets for f in decoder.decode(p)] + list(decoder.decode(None))
