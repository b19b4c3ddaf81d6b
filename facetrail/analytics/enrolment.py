"""Turn an enrolment photo into one reference embedding, or say clearly why not.

Choosing the face: by default the photo must show one main face. Press and archive
photos often show other people in the background, so the main face is the largest one
(weighted a little towards the centre), and other faces are tolerated only when they
are less than half its width; a second face of comparable size makes the photo
ambiguous and it is refused. The enroller may instead say which face: the one nearest
the centre, the largest, or one they point at (a box, e.g. clicked in the browser).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Union

import cv2
import numpy as np

from facetrail.analytics.detector import Detection, FaceDetector
from facetrail.analytics.embedder import FaceEmbedder
from facetrail.analytics.quality import eye_brightness, face_quality, frontal_score, sharpness_score
from facetrail.analytics.tracker import iou

# Very large photos are shrunk first: detail beyond this adds time, not accuracy.
MAX_SIDE_PX = 1600
BACKGROUND_FACE_RATIO = 0.5
DEFAULT_MIN_QUALITY = 0.4
# Each cue is checked on its own too: a frontal, large face can score well overall and still be too blurred to
# make a template (on lfw-dev's photos sharpness is above 0.52 for 99% of faces, frontalness above 0.35 for most).
MIN_SHARPNESS = 0.3
MIN_FRONTAL = 0.35
# Eye regions darker than this share of the cheeks' brightness are hidden (dark glasses): quality.eye_brightness
MIN_EYE_BRIGHTNESS = 0.30


class EnrolmentError(Exception):
    """A photo that cannot be enrolled; the message says why."""


def load_image(path: str | Path) -> np.ndarray:
    """BGR pixels of an image file of any format OpenCV decodes (JPEG, PNG, WEBP, ...)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise EnrolmentError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise EnrolmentError(f"{path}: is a folder, not an image") from None
    except OSError as exc:
        raise EnrolmentError(f"{path}: cannot read ({exc.strerror or exc})") from None
    image = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR) if raw else None
    if image is None:
        raise EnrolmentError(f"{path}: not a readable image (empty, corrupt or not an image format)")
    return image


def _shrunk(image: np.ndarray) -> np.ndarray:
    longest = max(image.shape[:2])
    if longest <= MAX_SIDE_PX:
        return image
    scale = MAX_SIDE_PX / longest
    return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


@dataclass(frozen=True)
class PointedFace:
    """A face the enroller pointed at: the detected face overlapping this box most is taken."""

    x: int
    y: int
    w: int
    h: int

    def scaled(self, factor: float) -> "PointedFace":
        return PointedFace(*(int(round(v * factor)) for v in (self.x, self.y, self.w, self.h)))


FacePick = Union[Literal["main", "central", "largest"], PointedFace]
"""main: the one main face, refusing rivals; central: nearest the centre; largest: the widest; or a pointed box."""


def central_face(image_shape: tuple[int, ...], faces: list[Detection]) -> Detection:
    height, width = image_shape[:2]
    return min(faces, key=lambda d: ((d.centre[0] - width / 2) ** 2 + (d.centre[1] - height / 2) ** 2, -d.w))


def pointed_face(faces: list[Detection], pointed: PointedFace) -> Detection:
    box = Detection(pointed.x, pointed.y, pointed.w, pointed.h, 1.0)
    best = max(faces, key=lambda d: iou(d, box))
    if iou(best, box) < 0.3:
        raise EnrolmentError("no detected face where the photo was pointed at; pick one of the faces found")
    return best


def pick_face(image_shape: tuple[int, ...], faces: list[Detection], pick: FacePick = "main") -> Detection:
    if isinstance(pick, PointedFace):
        return pointed_face(faces, pick)
    if pick == "central":
        return central_face(image_shape, faces)
    if pick == "largest":
        return max(faces, key=lambda d: d.w)
    return main_face(image_shape, faces)


def main_face(image_shape: tuple[int, ...], faces: list[Detection]) -> Detection:
    """The largest face, favouring the centre; raises when another face rivals it."""
    height, width = image_shape[:2]
    half_diagonal = ((width / 2) ** 2 + (height / 2) ** 2) ** 0.5

    def prominence(d: Detection) -> float:
        cx, cy = d.centre
        off_centre = ((cx - width / 2) ** 2 + (cy - height / 2) ** 2) ** 0.5 / half_diagonal
        return float(d.w * (1.0 - 0.5 * off_centre))

    main = max(faces, key=prominence)
    rivals = [d for d in faces if d is not main and d.w >= BACKGROUND_FACE_RATIO * main.w]
    if rivals:
        raise EnrolmentError(f"the photo shows {len(rivals) + 1} faces of similar size; use a photo of the person alone, "
                             "or say which face (--face central or --face largest)")
    return main


@dataclass(frozen=True, eq=False)
class EnrolmentFace:
    """The template of an enrolment photo and the face it came from."""

    embedding: np.ndarray
    """(dim,) float32, in the embedder's space."""
    image: np.ndarray
    """The photo as analysed (shrunk to MAX_SIDE_PX at most)."""
    face: Detection
    """The chosen face, in pixels of `image`."""


def enrolment_face(
    image_bgr: np.ndarray,
    detector: FaceDetector,
    embedder: FaceEmbedder,
    pick: FacePick = "main",
    min_face_px: int = 60,
    min_quality: float = DEFAULT_MIN_QUALITY,
) -> EnrolmentFace:
    """The template of the chosen face of an enrolment photo, or EnrolmentError saying why none."""
    if not isinstance(image_bgr, np.ndarray) or image_bgr.ndim != 3 or image_bgr.shape[2] != 3:
        raise EnrolmentError("the photo must be a colour image")
    image = _shrunk(image_bgr)
    faces = detector.detect(image)
    if not faces:
        raise EnrolmentError("no face found in the photo")
    if isinstance(pick, PointedFace) and image.shape[1] != image_bgr.shape[1]:
        pick = pick.scaled(image.shape[1] / image_bgr.shape[1])  # pointed at in the photo as given
    face = pick_face(image.shape, faces, pick)
    problems = face_problems(image, face, min_face_px, min_quality)
    if problems:
        raise EnrolmentError(problems[0])
    return EnrolmentFace(embedder.embed(image, [face])[0], image, face)


def face_problems(image: np.ndarray, face: Detection, min_face_px: int = 60,
                  min_quality: float = DEFAULT_MIN_QUALITY) -> list[str]:
    """Why a face would make a poor template (too small, blurred, turned away, eyes hidden, poor overall); empty when
    it is fine."""
    problems = []
    if face.w < min_face_px:
        problems.append(f"the face is too small ({face.w} px wide, at least {min_face_px} px needed)")
    sharpness = sharpness_score(image, face)
    if sharpness < MIN_SHARPNESS:
        problems.append(f"the face is too poor to enrol: blurred (sharpness {sharpness:.2f}, at least {MIN_SHARPNESS} needed)")
    frontal = frontal_score(face)
    if frontal is not None and frontal < MIN_FRONTAL:
        problems.append(f"the face is too poor to enrol: turned away (frontalness {frontal:.2f}, at least {MIN_FRONTAL} "
                        "needed)")
    eyes = eye_brightness(image, face)
    if eyes is not None and eyes < MIN_EYE_BRIGHTNESS:
        problems.append(f"the face is too poor to enrol: eyes not visible (dark glasses? the eyes are {eyes:.2f} as "
                        f"bright as the cheeks, at least {MIN_EYE_BRIGHTNESS} needed)")
    quality = face_quality(image, face)
    if quality < min_quality:
        problems.append(f"the face is too poor to enrol (quality {quality:.2f}, at least {min_quality:.2f} needed: "
                        "blurred, turned away or too small)")
    return problems


@dataclass(frozen=True)
class FaceVerdict:
    """A face found in an enrolment photo, in the photo's own pixels, and why it would make a poor template."""

    face: Detection
    problems: tuple[str, ...]
    main: bool
    """The face the default rule (`main`) would enrol; False for every face when rivals make the photo ambiguous."""


def faces_in_photo(image_bgr: np.ndarray, detector: FaceDetector, min_face_px: int = 60,
                   min_quality: float = DEFAULT_MIN_QUALITY) -> list[FaceVerdict]:
    """Every face of an enrolment photo with the verdict `enrolment_face` would give it, so that whoever picks a face
    (the browser's face picker) is refused or accepted exactly as the command line is."""
    if not isinstance(image_bgr, np.ndarray) or image_bgr.ndim != 3 or image_bgr.shape[2] != 3:
        raise EnrolmentError("the photo must be a colour image")
    image = _shrunk(image_bgr)
    faces = detector.detect(image)
    try:
        main = main_face(image.shape, faces) if faces else None
    except EnrolmentError:
        main = None
    back = image_bgr.shape[1] / image.shape[1]
    widest = max((face.w for face in faces), default=0)
    return [FaceVerdict(_scaled(face, back), tuple(face_problems(image, face, min_face_px, min_quality)
                                                   + _background_problem(face, widest, back)), face is main)
            for face in faces]


def _background_problem(face: Detection, widest: int, back: float) -> list[str]:
    """A face under half the largest one's width is in the background, or not a person's (a badge, a mission patch):
    the same ratio `main` uses to tolerate background faces."""
    if face.w >= BACKGROUND_FACE_RATIO * widest:
        return []
    return [f"much smaller than the largest face ({round(face.w * back)} px against {round(widest * back)} px): "
            "a background face, a badge or a patch, not the person"]


def _scaled(face: Detection, factor: float) -> Detection:
    if factor == 1:
        return face
    box = PointedFace(face.x, face.y, face.w, face.h).scaled(factor)
    return Detection(box.x, box.y, box.w, box.h, face.score)


def embed_enrolment_photo(image_bgr: np.ndarray, detector: FaceDetector, embedder: FaceEmbedder,
                          pick: FacePick = "main", min_face_px: int = 60,
                          min_quality: float = DEFAULT_MIN_QUALITY) -> np.ndarray:
    """(dim,) float32 template of the photo's chosen face."""
    return enrolment_face(image_bgr, detector, embedder, pick, min_face_px, min_quality).embedding
