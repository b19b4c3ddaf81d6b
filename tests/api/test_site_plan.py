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


def test_an_uploaded_plan_is_stored_in_the_object_store_and_served_to_operators(client, world, as_role):
    data = _png()
    response = client.put("/api/v1/site-plan", content=data, headers={**as_role["admin"], "Content-Type": "image/png"})
    assert response.status_code == 200, response.text
    assert response.json() == {"media_type": "image/png", "width": 320, "height": 180}
    assert world.objects.get(site_plan_key()) == data
    served = client.get("/api/v1/site-plan", headers=as_role["operator"])
    assert served.status_code == 200 and served.content == data and served.headers["content-type"] == "image/png"
    assert [r.actor for r in AuditLog(world.db).records() if r.action == "site_plan.upload"] == ["admin1"]


def test_without_a_plan_the_route_says_so(client, as_role):
    response = client.get("/api/v1/site-plan", headers=as_role["operator"])
    assert response.status_code == 404 and "no site plan" in response.json()["detail"]


def test_a_plan_that_is_not_an_image_is_a_415_and_keeps_the_old_one(client, world, as_role):
    client.put("/api/v1/site-plan", content=_png(), headers={**as_role["admin"], "Content-Type": "image/png"})
    response = client.put("/api/v1/site-plan", content=b"%PDF-1.7 not a picture",
                          headers={**as_role["admin"], "Content-Type": "application/pdf"})
    assert response.status_code == 415
    assert world.objects.get(site_plan_key()) == _png()


def test_a_removed_plan_is_gone_from_the_object_store(client, world, as_role):
    client.put("/api/v1/site-plan", content=_png(), headers={**as_role["admin"], "Content-Type": "image/png"})
    assert client.delete("/api/v1/site-plan", headers=as_role["admin"]).status_code == 204
    assert list(world.objects.keys("site/")) == []
