"""Face detectors: YuNet (OpenCV, fast on CPU) and dlib's HOG via face_recognition.

Both detect on a downscaled frame (detection cost grows with pixels) and return
boxes in full-resolution pixels, because embedding runs on the full frame. The
downscale must leave the smallest face to be analysed (``min_face_px``) large
enough for the detector to see: YuNet misses most faces under ~20 px. Given
regions of the downscale (where the picture moved), they search only those.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

import cv2
import numpy as np

from facetrail.analytics.motion import Region, merge_overlapping
from facetrail.ingest.pixels import Pixels


class DetectorError(Exception):
    """A detector that cannot be built; the message says what to fix."""


@dataclass(frozen=True, eq=False)
class Detection:
    """One face in full-resolution pixels of the frame it was found in."""

    x: int
    y: int
    w: int
    h: int
    score: float
    landmarks: np.ndarray | None = None
    """(5, 2) full-resolution points (right eye, left eye, nose, mouth right, mouth left) when the backend gives them."""

    @property
    def centre(self) -> tuple[float, float]:
        return (self.x + self.w / 2.0, self.y + self.h / 2.0)


@dataclass(frozen=True, eq=False)
class Downscaled:
    """A frame shrunk for detection; callers that need a small copy too (the motion gate) share it,
    since shrinking a 1080p frame costs about as much as detecting on the result."""

    image: np.ndarray
    scale: float
    """Full-resolution pixels per downscaled pixel (1.0: not shrunk)."""
    full_shape: tuple[int, int]
    """Height and width of the full-resolution frame."""


class FaceDetector(Protocol):
    name: str

    def width_for(self, frame_width: int) -> int:
        """The width a frame this wide is downscaled to for detection (never more than its own)."""
        ...

    def detect(self, image_bgr: np.ndarray, small: Downscaled | None = None,
               regions: tuple[Region, ...] | None = None) -> list[Detection]:
        """Faces of image_bgr; `small` is its downscale(image_bgr, width_for(its width)) when the caller has it;
        `regions` (pixels of that downscale) limit the search, None searches everywhere."""
        ...

    def detect_in(self, small: Downscaled, regions: tuple[Region, ...] | None = None) -> list[Detection]:
        """Faces of the frame `small` was shrunk from, found in it alone (no full-resolution pixels needed)."""
        ...


@dataclass(frozen=True)
class _Found:
    """A face as a backend reports it, in pixels of the image it searched."""

    x: float
    y: float
    w: float
    h: float
    score: float
    landmarks: np.ndarray | None


# Regions are widened to this grid of the downscale: YuNet's coarsest feature map strides 32 px, so a crop
# that starts on it sees a face through the same cells, and finds the same box, as the whole frame does
# (off the grid the box moved by a few pixels, enough to flip a match at the threshold).
GRID_PX = 32


def _on_grid(region: Region, height: int, width: int) -> Region:
    x, y, w, h = region
    x0, y0 = x - x % GRID_PX, y - y % GRID_PX
    x1, y1 = min(width, -(-(x + w) // GRID_PX) * GRID_PX), min(height, -(-(y + h) // GRID_PX) * GRID_PX)
    return x0, y0, x1 - x0, y1 - y0


# Sides (multiples of GRID_PX, about 1.3x apart) that regions grow to for a network whose runtime prepares
# each input shape anew: OpenVINO took 20-50 ms more for a shape it had not seen and kept 2-30 MB per shape
# seen, so motion regions of every size cost a worker hundreds of MB within minutes. On these sides a camera
# shows a few dozen shapes, each once; the growth is real picture around the motion, not padding.
LADDER_PX = (64, 96, 128, 160, 192, 256, 320, 416, 544, 704, 928, 1216, 1600, 2080, 2720, 3520)
# Regions covering more than this share of the downscale are searched as one whole frame (one shape).
WHOLE_ABOVE = 0.6


def _rung(side: int, limit: int) -> int:
    """The ladder's side for a region side; a region near the picture's own side takes all of it."""
    rung = next((r for r in LADDER_PX if r >= side), limit)
    return limit if rung >= 0.9 * limit else rung


def _on_ladder(region: Region, height: int, width: int) -> Region:
    """An on-grid region grown about its centre to ladder sides, kept on the grid and, where it can be, in the picture."""
    limit_w, limit_h = -(-width // GRID_PX) * GRID_PX, -(-height // GRID_PX) * GRID_PX
    x, y, w, h = region
    new_w, new_h = _rung(w, limit_w), _rung(h, limit_h)
    x0 = max(0, min(x - (new_w - w) // (2 * GRID_PX) * GRID_PX, limit_w - new_w))
    y0 = max(0, min(y - (new_h - h) // (2 * GRID_PX) * GRID_PX, limit_h - new_h))
    return x0, y0, new_w, new_h


def _laddered(regions: list[Region], height: int, width: int) -> list[Region] | None:
    """Non-overlapping regions on ladder sides covering `regions`; None when searching the whole picture is cheaper."""
    grown = [_on_ladder(r, height, width) for r in regions]
    while True:
        merged = merge_overlapping(grown)
        regrown = [_on_ladder(r, height, width) for r in merged]
        if sum(w * h for _, _, w, h in regrown) > WHOLE_ABOVE * width * height:
            return None
        if regrown == grown:
            return regrown
        grown = regrown


def _search(scaled: Downscaled, regions: tuple[Region, ...] | None,
            find: Callable[[np.ndarray], list[_Found]], min_face_px: int, ladder: bool = False) -> list[Detection]:
    """Run a backend over the regions of the downscale (or all of it) and bring its faces to full resolution."""
    height, width = scaled.image.shape[:2]
    boxes = None if regions is None else merge_overlapping([_on_grid(r, height, width) for r in regions])
    if boxes is not None and ladder:
        boxes = _laddered(boxes, height, width)
    crops = [(0, 0, scaled.image)] if boxes is None else \
        [(x, y, scaled.image[y:y + h, x:x + w]) for x, y, w, h in boxes if w > 0 and h > 0]
    scale = scaled.scale
    found = []
    for ox, oy, crop in crops:
        for face in find(np.ascontiguousarray(crop)):
            box = _clipped((face.x + ox) * scale, (face.y + oy) * scale, face.w * scale, face.h * scale, scaled.full_shape)
            if box is None or box[2] < min_face_px:
                continue
            landmarks = None if face.landmarks is None else ((face.landmarks + (ox, oy)) * scale).astype(np.float32)
            found.append(Detection(*box, score=face.score, landmarks=landmarks))
    return found


def shrink(pixels: Pixels, detect_width: int) -> Downscaled:
    """Shrink (never enlarge) to detect_width."""
    full_shape = (pixels.height, pixels.width)
    if pixels.width <= detect_width:
        return Downscaled(pixels.bgr, 1.0, full_shape)
    scale = pixels.width / float(detect_width)
    height = max(1, round(pixels.height / scale))
    return Downscaled(pixels.shrunk(detect_width, height), scale, full_shape)


def downscale(image: np.ndarray, detect_width: int) -> Downscaled:
    """shrink() of a BGR image."""
    return shrink(Pixels.of_bgr(image), detect_width)


class _Backend:
    """What both detectors share: downscaling, searching regions, and bringing faces to full resolution."""

    detect_width: int | None
    """Fixed detection width; None: as narrow as keeps a min_face_px face smallest_face_px wide."""
    min_face_px: int
    smallest_face_px: int
    """Narrowest face (downscale pixels) this backend finds reliably; read only when detect_width is None."""
    ladder: bool = False
    """Regions grow to LADDER_PX sides: the runtime pays for every new input shape."""

    def width_for(self, frame_width: int) -> int:
        if self.detect_width is not None:
            return min(frame_width, self.detect_width)
        # even, as the YUV planes are shrunk in halves (a frame of odd width keeps its own), and never 0,
        # which a min_face_px far wider than any frame would round to
        return min(frame_width, max(2, 2 * round(frame_width * self.smallest_face_px / self.min_face_px / 2)))

    def detect(self, image_bgr: np.ndarray, small: Downscaled | None = None,
               regions: tuple[Region, ...] | None = None) -> list[Detection]:
        return self.detect_in(small or downscale(image_bgr, self.width_for(image_bgr.shape[1])), regions)

    def detect_in(self, small: Downscaled, regions: tuple[Region, ...] | None = None) -> list[Detection]:
        return _search(small, regions, self._find, self.min_face_px, self.ladder)

    def _find(self, image: np.ndarray) -> list[_Found]:
        raise NotImplementedError


def _clipped(x: float, y: float, w: float, h: float, shape: tuple[int, ...]) -> tuple[int, int, int, int] | None:
    """Box clipped to the image; None when nothing of it is inside."""
    x0, y0 = max(0, int(round(x))), max(0, int(round(y)))
    x1, y1 = min(shape[1], int(round(x + w))), min(shape[0], int(round(y + h)))
    if x1 - x0 < 1 or y1 - y0 < 1:
        return None
    return x0, y0, x1 - x0, y1 - y0


class YuNetDetector(_Backend):
    name = "yunet"
    # Measured on lfw-dev faces walked across a 1080p picture: at 13 px wide (40 px faces downscaled to 640)
    # YuNet found none, at 20 px it found 14 walks of 20 and at 30 px 19 of 20 (score threshold 0.6).
    smallest_face_px = 20

    def __init__(self, model_path: str | Path, score_threshold: float = 0.6, detect_width: int | None = None,
                 min_face_px: int = 40, runtime: str = "opencv", threads: int = 0):
        path = Path(model_path)
        if not path.is_file():
            raise DetectorError(f"YuNet model not found at {path} (`facetrail models fetch yunet-2023mar` downloads it)")
        self.runtime = runtime
        self.ladder = runtime == "openvino"  # OpenCV's engine re-plans a new shape in a few ms and keeps nothing
        self._net = _on_openvino(path, score_threshold, threads) if runtime == "openvino" else \
            _on_opencv(path, score_threshold)
        self.score_threshold = float(score_threshold)
        self.detect_width = detect_width
        self.min_face_px = min_face_px

    def _find(self, image: np.ndarray) -> list[_Found]:
        faces = self._net(image)
        return [_Found(float(r[0]), float(r[1]), float(r[2]), float(r[3]), float(r[14]), r[4:14].reshape(5, 2)) for r in faces]


def _on_opencv(path: Path, score_threshold: float) -> Callable[[np.ndarray], np.ndarray]:
    """cv2.FaceDetectorYN: (n, 15) rows of box, landmarks and score per picture."""
    # OpenCV 5 warns on every load that its new graph engine ignores the preferred target (CPU either way)
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    try:
        net = cv2.FaceDetectorYN.create(str(path), "", (320, 320), float(score_threshold), 0.3, 5000)
    except cv2.error as exc:
        raise DetectorError(f"YuNet model at {path} cannot be loaded: {str(exc).strip().splitlines()[-1]}") from None
    finally:
        cv2.utils.logging.setLogLevel(level)

    def detect(image: np.ndarray) -> np.ndarray:
        net.setInputSize((image.shape[1], image.shape[0]))
        faces = net.detect(image)[1]
        return np.zeros((0, 15), np.float32) if faces is None else faces

    return detect


def _on_openvino(path: Path, score_threshold: float, threads: int) -> Callable[[np.ndarray], np.ndarray]:
    from facetrail.analytics.yunet_openvino import YuNetOnOpenVino

    try:
        return YuNetOnOpenVino(path, score_threshold, threads).detect
    except RuntimeError as exc:
        raise DetectorError(f"YuNet model at {path} cannot be loaded: {str(exc).strip().splitlines()[0]}") from None


class HogDetector(_Backend):
    """dlib's HOG detector. It finds faces of ~80 px and up, so the downscaled frame
    is upsampled ``upsample`` times (1 finds ~40 px faces of the small image)."""

    name = "hog"
    # HOG's cost grows fast with pixels (and the upsample doubles them): unless told otherwise it detects at
    # this width, where faces narrower than ~120 px of a 1080p frame are missed. So its width never follows
    # min_face_px, and width_for never needs a smallest_face_px of it.
    DEFAULT_WIDTH = 640

    def __init__(self, detect_width: int | None = None, min_face_px: int = 40, upsample: int = 1):
        import face_recognition  # heavy import, only for this backend

        self._locate = face_recognition.face_locations
        self.detect_width = self.DEFAULT_WIDTH if detect_width is None else detect_width
        self.min_face_px = min_face_px
        self.upsample = upsample

    def _find(self, image: np.ndarray) -> list[_Found]:
        rgb = np.ascontiguousarray(image[:, :, ::-1])
        return [_Found(left, top, right - left, bottom - top, 1.0, None)
                for top, right, bottom, left in self._locate(rgb, number_of_times_to_upsample=self.upsample, model="hog")]
