"""Enrolment photos between upload and save, held in this process's memory only.

Nothing of an upload reaches the database, the object store, the audit log or a disk
until the enroller saves the entry: the photo waits here, usable only by whoever
uploaded it, for at most `ttl_s` seconds. An abandoned upload (a closed tab, a person
not enrolled after all) is forgotten when its time is up; saving takes it off the shelf.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from facetrail.analytics.enrolment import FaceVerdict
from facetrail.api.images import CheckedImage

SHELF_TTL_S = 15 * 60
MAX_HELD_PER_USER = 12


@dataclass(frozen=True, eq=False)
class HeldPhoto:
    upload_id: str
    owner: str
    image: CheckedImage
    faces: tuple[FaceVerdict, ...]
    expires_at: float
    """On the shelf's clock (monotonic seconds)."""


class ShelfFull(Exception):
    pass


class PhotoShelf:
    def __init__(self, ttl_s: float = SHELF_TTL_S, max_per_user: int = MAX_HELD_PER_USER,
                 clock: Callable[[], float] = time.monotonic):
        self.ttl_s, self.max_per_user, self._clock = ttl_s, max_per_user, clock
        self._held: dict[str, HeldPhoto] = {}
        self._arriving: Counter[str] = Counter()
        self._lock = threading.Lock()

    @contextmanager
    def room_for(self, owner: str) -> Iterator[None]:
        """Keep a place for an upload while it is decoded and analysed; ShelfFull at once (before any decoding) when
        the owner's photos, held and arriving, fill the shelf. `put` inside it uses the place kept."""
        with self._lock:
            self._purge()
            self._check_room(owner)
            self._arriving[owner] += 1
        try:
            yield
        finally:
            with self._lock:
                self._arriving[owner] -= 1
                if not self._arriving[owner]:
                    del self._arriving[owner]

    def _check_room(self, owner: str, kept: int = 0) -> None:
        waiting = sum(1 for held in self._held.values() if held.owner == owner) + self._arriving[owner] - kept
        if waiting >= self.max_per_user:
            raise ShelfFull(f"{self.max_per_user} photos are already waiting: save the entry or remove some")

    def put(self, owner: str, image: CheckedImage, faces: tuple[FaceVerdict, ...]) -> HeldPhoto:
        with self._lock:
            self._purge()
            self._check_room(owner, kept=min(1, self._arriving[owner]))
            held = HeldPhoto(secrets.token_hex(16), owner, image, faces, self._clock() + self.ttl_s)
            self._held[held.upload_id] = held
            return held

    def get(self, owner: str, upload_id: str) -> HeldPhoto | None:
        """The photo, for its uploader only (anyone else is told it is not there)."""
        with self._lock:
            self._purge()
            held = self._held.get(upload_id)
            return held if held is not None and held.owner == owner else None

    def discard(self, owner: str, upload_ids: list[str]) -> None:
        with self._lock:
            for upload_id in upload_ids:
                if upload_id in self._held and self._held[upload_id].owner == owner:
                    del self._held[upload_id]

    def __len__(self) -> int:
        self.purge()
        with self._lock:
            return len(self._held)

    def purge(self) -> None:
        """Forget photos whose time is up (every call does this; the API also does it every minute)."""
        with self._lock:
            self._purge()

    def _purge(self) -> None:
        now = self._clock()
        for upload_id in [u for u, held in self._held.items() if held.expires_at <= now]:
            del self._held[upload_id]
