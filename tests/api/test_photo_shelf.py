"""Uploaded enrolment photos wait in memory for their uploader only, and are forgotten when their time is up."""

from __future__ import annotations

import pytest

from facetrail.api.images import CheckedImage
from facetrail.api.photo_shelf import PhotoShelf, ShelfFull

IMAGE = CheckedImage(b"jpeg bytes", "image/jpeg", 10, 10)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_held_photo_is_forgotten_when_its_time_is_up():
    clock = Clock()
    shelf = PhotoShelf(ttl_s=900, clock=clock)
    held = shelf.put("enroller1", IMAGE, ())
    clock.now += 899
    assert shelf.get("enroller1", held.upload_id) is held
    clock.now += 1
    assert shelf.get("enroller1", held.upload_id) is None and len(shelf) == 0


def test_purge_forgets_expired_photos_without_anyone_asking_for_them():
    clock = Clock()
    shelf = PhotoShelf(ttl_s=60, clock=clock)
    shelf.put("enroller1", IMAGE, ())
    clock.now += 61
    shelf.purge()
    assert shelf._held == {}


def test_only_the_uploader_gets_a_held_photo():
    shelf = PhotoShelf()
    held = shelf.put("enroller1", IMAGE, ())
    shelf.discard("enroller2", [held.upload_id])
    assert shelf.get("enroller2", held.upload_id) is None and shelf.get("enroller1", held.upload_id) is held


def test_a_user_cannot_hold_more_than_the_limit():
    shelf = PhotoShelf(max_per_user=2)
    shelf.put("enroller1", IMAGE, ())
    shelf.put("enroller1", IMAGE, ())
    with pytest.raises(ShelfFull):
        shelf.put("enroller1", IMAGE, ())
    shelf.put("enroller2", IMAGE, ())
