"""The site plan image: an admin uploads it into the object store, operators get it back under the camera markers."""

from __future__ import annotations

import cv2
import numpy as np

from facetrail.audit.log import AuditLog
from facetrail.storage.objects import site_plan_key


def _png(width: int = 320, height: int = 180) -> bytes:
    plan = np.full((height, width, 3), 255, np.uint8)
    cv2.rectangle(plan, (20, 20), (width - 20, height - 20), (40, 40, 40), 3)
    return cv2.imencode(".png", plan)[1].tobytes()


EXTENT = {"width_m": 100, "height_m": 60}


def _pixels(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def _jpeg_with_metadata_and_a_tail() -> bytes:
    """A JPEG carrying an EXIF block with GPS, a comment, and a script appended after its end marker."""
    plain = cv2.imencode(".jpg", cv2.imdecode(np.frombuffer(_png(), np.uint8), cv2.IMREAD_COLOR))[1].tobytes()
    exif = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08 GPSLatitude 51.5007N GPSLongitude 0.1246W"
    comment = b"taken at the back door by J. Example"
    segments = b"\xff\xe1" + (len(exif) + 2).to_bytes(2, "big") + exif + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment
    return plain[:2] + segments + plain[2:] + b"<script>alert(document.cookie)</script>"


def _put(client, headers, data: bytes, media: str = "image/png", extent: dict = EXTENT):
    return client.put("/api/v1/site-plan", content=data, params=extent, headers={**headers, "Content-Type": media})


def test_an_uploaded_plan_is_stored_in_the_object_store_and_served_to_operators(client, world, as_role):
    data = _png()
    response = _put(client, as_role["admin"], data)
    assert response.status_code == 200, response.text
    plan = {"media_type": "image/png", "width": 320, "height": 180, "width_m": 100.0, "height_m": 60.0}
    assert response.json() == plan
    assert client.get("/api/v1/site-plan/extent", headers=as_role["operator"]).json() == plan
    stored = world.objects.get(site_plan_key())
    assert np.array_equal(_pixels(stored), _pixels(data))  # re-encoded, losslessly for a PNG
    served = client.get("/api/v1/site-plan", headers=as_role["operator"])
    assert served.status_code == 200 and served.content == stored and served.headers["content-type"] == "image/png"
    assert [r.actor for r in AuditLog(world.db).records() if r.action == "site_plan.upload"] == ["admin1"]


def test_without_a_plan_the_routes_say_so(client, as_role):
    for route in ("/api/v1/site-plan", "/api/v1/site-plan/extent"):
        response = client.get(route, headers=as_role["operator"])
        assert response.status_code == 404 and "no site plan" in response.json()["detail"]


def test_a_plan_needs_the_metres_it_spans(client, world, as_role):
    response = _put(client, as_role["admin"], _png(), extent={"width_m": 100})
    assert response.status_code == 422 and "height_m" in response.json()["message"]
    assert list(world.objects.keys("site/")) == []


def test_a_plan_that_is_not_an_image_is_a_415_and_keeps_the_old_one(client, world, as_role):
    _put(client, as_role["admin"], _png())
    response = _put(client, as_role["admin"], b"%PDF-1.7 not a picture", "application/pdf")
    assert response.status_code == 415
    assert np.array_equal(_pixels(world.objects.get(site_plan_key())), _pixels(_png()))


def test_a_removed_plan_is_gone_from_the_object_store(client, world, as_role):
    _put(client, as_role["admin"], _png())
    assert client.delete("/api/v1/site-plan", headers=as_role["admin"]).status_code == 204
    assert list(world.objects.keys("site/")) == []


def test_a_plan_is_re_encoded_without_its_metadata_or_trailing_bytes_and_served_as_an_attachment(client, world, as_role):
    data = _jpeg_with_metadata_and_a_tail()
    assert _put(client, as_role["admin"], data, "image/jpeg").status_code == 200
    served = client.get("/api/v1/site-plan", headers=as_role["operator"])
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    for marker in (b"GPS", b"Exif", b"J. Example", b"<script>"):
        assert marker not in served.content and marker not in world.objects.get(site_plan_key())
    assert served.headers["content-disposition"] == 'attachment; filename="site-plan.jpg"'
    assert np.abs(_pixels(served.content).astype(int) - _pixels(data).astype(int)).mean() < 3
