"""Enrolling people on the watch-list from photos, with their accountability record.

A person is enrolled whole or not at all: if any of their photos is refused,
nothing of them is stored and the message names the photo and the reason.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import cv2
import numpy as np

from facetrail.analytics.detector import FaceDetector
from facetrail.analytics.embedder import FaceEmbedder
from facetrail.analytics.enrolment import EnrolmentError, embed_enrolment_photo, load_image
from facetrail.storage.objects import ObjectStore, enrolment_key
from facetrail.storage.watchlist_store import WatchlistStore
from facetrail.watchlist import EntryRecord

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}
STORED_PHOTO_SIDE_PX = 480


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


@dataclass(frozen=True)
class Enrolled:
    record: EntryRecord
    photos: int


def expiry_within(days: int, max_days: int, now: datetime | None = None) -> datetime:
    if days < 1:
        raise EnrolmentError("expiry must be at least 1 day ahead")
    if days > max_days:
        raise EnrolmentError(f"expiry of {days} days exceeds the configured maximum of {max_days} days")
    return (now or datetime.now(timezone.utc)) + timedelta(days=days)


def photos_in(folder: Path) -> tuple[Path, ...]:
    return tuple(sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES))


def _thumbnail(image: np.ndarray) -> bytes:
    scale = min(1.0, STORED_PHOTO_SIDE_PX / max(image.shape[:2]))
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else image
    return cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()


def enrol(
    request: EnrolmentRequest,
    detector: FaceDetector,
    embedder: FaceEmbedder,
    watchlist: WatchlistStore,
    objects: ObjectStore,
    now: datetime | None = None,
) -> Enrolled:
    now = now or datetime.now(timezone.utc)
    if not request.legal_basis.strip():
        raise EnrolmentError("a legal basis or case reference is required")
    if not request.image_source.strip():
        raise EnrolmentError("the image source is required")
    if request.expires_at <= now:
        raise EnrolmentError("the expiry must be in the future")
    if not request.photos:
        raise EnrolmentError(f"{request.display_name}: no photos (.jpg, .png, .webp) to enrol")
    images, embeddings = [], []
    for path in request.photos:
        image = load_image(path)
        try:
            embeddings.append(embed_enrolment_photo(image, detector, embedder))
        except EnrolmentError as exc:
            raise EnrolmentError(f"{path}: {exc}") from None
        images.append(image)
    record = EntryRecord(
        entry_id=uuid.uuid4().hex, display_name=request.display_name, watchlist=request.watchlist,
        legal_basis=request.legal_basis.strip(), image_source=request.image_source.strip(),
        enrolled_by=request.enrolled_by, created_at=now, expires_at=request.expires_at, threshold=request.threshold,
    )
    keys = [enrolment_key(record.entry_id, i) for i in range(len(images))]
    for key, image in zip(keys, images):
        objects.put(key, _thumbnail(image), "image/jpeg")
    watchlist.add(record, np.stack(embeddings), keys)
    return Enrolled(record, len(images))
