"""Enrolling people on the watch-list from photos, with their accountability record; re-embedding them.

A person is enrolled whole or not at all: if any of their photos is refused,
nothing of them is stored and the message names the photo and the reason.
What is stored of a photo is the enrolled face with a margin around it, not the
whole picture: a group or news photo's other people are never kept. Each template
records the embedding model that made it; switching models re-embeds every entry
from those stored photos (`facetrail watchlist reembed`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import cv2
import numpy as np

from facetrail.analytics.detector import Detection, FaceDetector
from facetrail.analytics.embedder import FaceEmbedder
from facetrail.analytics.enrolment import (
    BACKGROUND_FACE_RATIO,
    EnrolmentError,
    EnrolmentFace,
    FacePick,
    PointedFace,
    enrolment_face,
    load_image,
)
from facetrail.storage.objects import ObjectStore, enrolment_key
from facetrail.storage.watchlist_store import EntryExists, WatchlistStore
from facetrail.watchlist import EntryRecord

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}
STORED_PHOTO_SIDE_PX = 480
# The stored photo is a square around the face this many face widths wide: enough for re-detection and for an
# operator to recognise the person, too little to keep a bystander whole.
STORED_FACE_SPAN = 2.2


@dataclass(frozen=True)
class EnrolmentRequest:
    display_name: str
    photos: tuple[Path, ...]
    legal_basis: str
    image_source: str
    enrolled_by: str
    expires_at: datetime
    watchlist: str = "default"
    threshold: float | None = None
    face: FacePick = "main"
    """Which face of each photo is the person (enrolment.pick_face)."""


@dataclass(frozen=True)
class Enrolled:
    record: EntryRecord
    photos: int
    model: str
    """The embedding model that made the templates."""


def expiry_within(days: int, max_days: int, now: datetime | None = None) -> datetime:
    if days < 1:
        raise EnrolmentError("expiry must be at least 1 day ahead")
    if days > max_days:
        raise EnrolmentError(f"expiry of {days} days exceeds the configured maximum of {max_days} days")
    return (now or datetime.now(timezone.utc)) + timedelta(days=days)


def photos_in(folder: Path) -> tuple[Path, ...]:
    return tuple(sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES))


def stored_photo(image: np.ndarray, face: Detection) -> bytes:
    """JPEG of the face with a margin, at most STORED_PHOTO_SIDE_PX a side."""
    cx, cy = face.centre
    half = STORED_FACE_SPAN * max(face.w, face.h) / 2
    x0, y0 = max(0, int(cx - half)), max(0, int(cy - half))
    x1, y1 = min(image.shape[1], int(cx + half)), min(image.shape[0], int(cy + half))
    crop = image[y0:y1, x0:x1]
    scale = min(1.0, STORED_PHOTO_SIDE_PX / max(crop.shape[:2]))
    small = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else crop
    return cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tobytes()


def check_accountability(legal_basis: str, image_source: str, expires_at: datetime, now: datetime) -> None:
    """What every entry must record before anything of it is stored: why, from where, and until when."""
    if not legal_basis.strip():
        raise EnrolmentError("a legal basis or case reference is required")
    if not image_source.strip():
        raise EnrolmentError("the image source is required")
    if expires_at <= now:
        raise EnrolmentError("the expiry must be in the future")


def enrol(
    request: EnrolmentRequest,
    detector: FaceDetector,
    embedder: FaceEmbedder,
    watchlist: WatchlistStore,
    objects: ObjectStore,
    now: datetime | None = None,
) -> Enrolled:
    now = now or datetime.now(timezone.utc)
    check_accountability(request.legal_basis, request.image_source, request.expires_at, now)
    if not request.photos:
        raise EnrolmentError(f"{request.display_name}: no photos (.jpg, .png, .webp) to enrol")
    chosen = []
    for path in request.photos:
        try:
            chosen.append(enrolment_face(load_image(path), detector, embedder, request.face))
        except EnrolmentError as exc:
            raise EnrolmentError(f"{path}: {exc}") from None
    record = EntryRecord(
        entry_id=uuid.uuid4().hex, display_name=request.display_name, watchlist=request.watchlist,
        legal_basis=request.legal_basis.strip(), image_source=request.image_source.strip(),
        enrolled_by=request.enrolled_by, created_at=now, expires_at=request.expires_at, threshold=request.threshold,
    )
    return save_entry(record, chosen, embedder.space.model, watchlist, objects)


def save_entry(record: EntryRecord, chosen: list[EnrolmentFace], model: str, watchlist: WatchlistStore,
               objects: ObjectStore) -> Enrolled:
    """Store an entry: a crop around each chosen face (never the whole photo) and the templates made by `model`."""
    keys = [enrolment_key(record.entry_id, i) for i in range(len(chosen))]
    for key, face in zip(keys, chosen):
        objects.put(key, stored_photo(face.image, face.face), "image/jpeg")
    try:
        watchlist.add(record, np.stack([face.embedding for face in chosen]), keys, model=model)
    except EntryExists:  # the same person on this list already: the crops just stored belong to no entry
        for key in keys:
            objects.delete(key)
        raise
    return Enrolled(record, len(chosen), model)


def add_photos(entry_id: str, chosen: list[EnrolmentFace], model: str, watchlist: WatchlistStore,
               objects: ObjectStore) -> int:
    """Add photos to an existing entry, stored as `save_entry` stores them; returns how many photos it now has."""
    taken = set(watchlist.photo_keys(entry_id))
    keys: list[str] = []
    index = 0
    while len(keys) < len(chosen):
        key = enrolment_key(entry_id, index)
        if key not in taken:
            keys.append(key)
        index += 1
    for key, face in zip(keys, chosen):
        objects.put(key, stored_photo(face.image, face.face), "image/jpeg")
    if not watchlist.add_templates(entry_id, model, np.stack([face.embedding for face in chosen]), keys):
        for key in keys:
            objects.delete(key)
        raise EnrolmentError("the entry was erased meanwhile")
    return len(taken) + len(keys)


@dataclass(frozen=True)
class Reembedded:
    entry_id: str
    templates: int
    """Templates now held for the model (0 when the entry failed)."""
    failures: tuple[str, ...] = ()
    """Why photos failed: 'photo 2: no face found in the photo'."""

    @property
    def ok(self) -> bool:
        return self.templates > 0 and not self.failures


def _stored_face(image: np.ndarray, detector: FaceDetector, embedder: FaceEmbedder) -> np.ndarray:
    """The enrolled face of a stored photo: the one nearest its centre among faces not much smaller than the largest
    (stored photos are cut around the enrolled face; older ones are whole photos whose main face was enrolled)."""
    faces = detector.detect(image)
    if not faces:
        raise EnrolmentError("no face found in the photo")
    widest = max(d.w for d in faces)
    candidates = [d for d in faces if d.w >= BACKGROUND_FACE_RATIO * widest]
    height, width = image.shape[:2]
    face = min(candidates, key=lambda d: (d.centre[0] - width / 2) ** 2 + (d.centre[1] - height / 2) ** 2)
    # a stored photo is at most STORED_PHOTO_SIDE_PX wide: its face may be under the 60 px that new photos need
    pointed = PointedFace(face.x, face.y, face.w, face.h)
    return enrolment_face(image, detector, embedder, pick=pointed, min_face_px=24).embedding


def reembed_entry(entry_id: str, detector: FaceDetector, embedder: FaceEmbedder, watchlist: WatchlistStore,
                  objects: ObjectStore) -> Reembedded:
    """Templates of the embedder's model for one entry, from its stored photos. Photos that fail are reported;
    the others' templates replace the entry's templates of that model (none embed: nothing changes)."""
    keys = watchlist.photo_keys(entry_id)
    if not keys:
        return Reembedded(entry_id, 0, ("no stored enrolment photo (enrol the person again)",))
    embedded: dict[str, np.ndarray] = {}
    failures = []
    for index, key in enumerate(keys, start=1):
        try:
            embedded[key] = _stored_face(_stored_image(objects, key), detector, embedder)
        except EnrolmentError as exc:
            failures.append(f"photo {index}: {exc}")
    if embedded:
        watchlist.replace_templates(entry_id, embedder.space.model, np.stack(list(embedded.values())), list(embedded))
    return Reembedded(entry_id, len(embedded), tuple(failures))


def _stored_image(objects: ObjectStore, key: str) -> np.ndarray:
    try:
        raw = objects.get(key)
    except KeyError:
        raise EnrolmentError("missing from the object store") from None
    image = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise EnrolmentError("not a readable image")
    return image
