"""Head-and-shoulders cut-outs of real photos, sized to pass a camera, and the
face_recognition check that each cut-out is (or is not) the enrolled person.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

# face_recognition warns about pkg_resources on import; import it only where used.

_DETECT_SIDE = 800
"""Photos are shrunk to this longest side before finding the face: faces in portraits are large."""


class FaceCheckError(Exception):
    """The chosen photos do not give the identities the scenario claims."""


@dataclass(frozen=True, eq=False)
class Sprite:
    """An RGB cut-out and its soft alpha mask, scaled so the face box is `face_px` wide."""

    rgb: np.ndarray
    alpha: np.ndarray
    """float32 in [0, 1], same height and width as rgb."""

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])


def load_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise FaceCheckError(f"{path}: not a readable image")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def largest_face(rgb: np.ndarray, upsample: int = 0) -> tuple[int, int, int, int] | None:
    """(top, right, bottom, left) of the largest HOG face, in rgb's pixels, or None."""
    import face_recognition

    scale = min(1.0, _DETECT_SIDE / max(rgb.shape[:2]))
    small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else rgb
    boxes = face_recognition.face_locations(small, number_of_times_to_upsample=upsample, model="hog")
    if not boxes:
        return None
    top, right, bottom, left = max(boxes, key=lambda b: (b[1] - b[3]) * (b[2] - b[0]))
    return tuple(int(round(v / scale)) for v in (top, right, bottom, left))  # type: ignore[return-value]


def embedding(rgb: np.ndarray, upsample: int = 0) -> np.ndarray | None:
    """128-d dlib embedding of the largest face, or None when no face is found."""
    import face_recognition

    box = largest_face(rgb, upsample)
    if box is None:
        return None
    return face_recognition.face_encodings(rgb, [box], num_jitters=1)[0]


def cut_out(photo: Path, face_px: int) -> Sprite:
    """The head and shoulders of the photo's largest face, scaled to face width `face_px`."""
    rgb = load_rgb(photo)
    box = largest_face(rgb)
    if box is None:
        raise FaceCheckError(f"{photo.name}: no face found")
    top, right, bottom, left = box
    w, h = right - left, bottom - top
    # Margins keep hair, ears and chin: a detector sees a head, not a tight face tile.
    x0, x1 = max(0, int(left - 0.45 * w)), min(rgb.shape[1], int(right + 0.45 * w))
    y0, y1 = max(0, int(top - 0.6 * h)), min(rgb.shape[0], int(bottom + 0.55 * h))
    scale = face_px / w
    crop = cv2.resize(rgb[y0:y1, x0:x1], None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return Sprite(rgb=crop, alpha=_oval_mask(crop.shape[0], crop.shape[1]))


def _oval_mask(height: int, width: int) -> np.ndarray:
    mask = np.zeros((height, width), np.float32)
    cv2.ellipse(mask, (width // 2, height // 2), (int(width * 0.47), int(height * 0.48)), 0, 0, 360, 1.0, -1)
    blur = max(3, (min(height, width) // 12) | 1)
    return cv2.GaussianBlur(mask, (blur, blur), 0)


def composite(frame: np.ndarray, sprite: Sprite, cx: int, cy: int) -> None:
    """Blend the sprite into frame (in place) centred at (cx, cy), clipped to the frame."""
    fh, fw = frame.shape[:2]
    x0, y0 = cx - sprite.width // 2, cy - sprite.height // 2
    fx0, fy0, fx1, fy1 = max(0, x0), max(0, y0), min(fw, x0 + sprite.width), min(fh, y0 + sprite.height)
    if fx0 >= fx1 or fy0 >= fy1:
        return
    sx0, sy0 = fx0 - x0, fy0 - y0
    sx1, sy1 = sx0 + (fx1 - fx0), sy0 + (fy1 - fy0)
    alpha = sprite.alpha[sy0:sy1, sx0:sx1, None]
    region = frame[fy0:fy1, fx0:fx1].astype(np.float32)
    blended = region * (1 - alpha) + sprite.rgb[sy0:sy1, sx0:sx1].astype(np.float32) * alpha
    frame[fy0:fy1, fx0:fx1] = blended.astype(np.uint8)


def sprite_on_plain(sprite: Sprite, margin: int = 60) -> np.ndarray:
    """The sprite on a mid-grey canvas: what the check embeds, at the size the clip shows."""
    canvas = np.full((sprite.height + 2 * margin, sprite.width + 2 * margin, 3), 128, np.uint8)
    composite(canvas, sprite, canvas.shape[1] // 2, canvas.shape[0] // 2)
    return canvas
