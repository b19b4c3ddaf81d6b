"""Uploaded images are decoded only after the checks that cost nothing (role, size, pixels, the uploader's room on
the shelf), and never more at once than the decode memory budget holds."""

from __future__ import annotations

import io
import threading
import time

from PIL import Image

from facetrail.api.images import CheckedImage, DecodeBudget

HELD = CheckedImage(b"jpeg bytes", "image/jpeg", 10, 10)


def _damaged_png() -> bytes:
    """A PNG whose header is right (so it passes every check on bytes) and whose pixel data is not."""
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (90, 20, 200)).save(out, "PNG")
    data = out.getvalue()
    return data[:60] + b"\x00" * (len(data) - 60)


def test_an_upload_beyond_the_uploaders_shelf_is_refused_before_it_is_decoded(client, as_role):
    shelf = client.app.state.ctx.photo_shelf
    for _ in range(shelf.max_per_user):
        shelf.put("enroller1", HELD, ())
    response = client.post("/api/v1/enrolment/photos", content=_damaged_png(),
                           headers={**as_role["enroller"], "Content-Type": "image/png"})
    assert response.status_code == 429, response.text  # a decode would have found it damaged: 415
    assert "already waiting" in response.json()["detail"]


def test_another_uploader_still_gets_their_photo_decoded(client, as_role, world):
    world.add_user("enroller2", "enroller")
    from .conftest import login

    shelf = client.app.state.ctx.photo_shelf
    for _ in range(shelf.max_per_user):
        shelf.put("enroller1", HELD, ())
    response = client.post("/api/v1/enrolment/photos", content=_damaged_png(),
                           headers={**login(client, "enroller2"), "Content-Type": "image/png"})
    assert response.status_code == 415


def test_decodes_never_hold_more_memory_at_once_than_the_budget():
    budget = DecodeBudget(limit_bytes=1000, wait_s=10)
    in_use, peaks, lock = [0], {400: 0, 5000: 0}, threading.Lock()

    def decode(cost: int) -> None:
        with budget.holding(cost):
            with lock:
                in_use[0] += cost
                peaks[cost] = max(peaks[cost], in_use[0])
            time.sleep(0.02)
            with lock:
                in_use[0] -= cost

    threads = [threading.Thread(target=decode, args=(cost,)) for cost in [400] * 12 + [5000] + [400] * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peaks[400] == 800  # two at once, never three
    assert peaks[5000] == 5000  # larger than the budget: it ran alone
    assert budget.in_use == 0


def test_a_decode_that_waits_too_long_for_memory_is_a_503():
    from fastapi import HTTPException

    budget = DecodeBudget(limit_bytes=1000, wait_s=0.05)
    with budget.holding(1000):
        try:
            with budget.holding(10):
                raise AssertionError("admitted beyond the budget")
        except HTTPException as exc:
            assert exc.status_code == 503 and exc.headers["Retry-After"]


def test_the_default_budget_fits_a_maximal_image_and_stays_under_half_a_gigabyte():
    budget = DecodeBudget.sized_from_memory(max_image_pixels=40_000_000)
    assert DecodeBudget.cost(6300, 6300) <= budget.limit_bytes <= 512 * 2**20
