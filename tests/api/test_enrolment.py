"""Enrolling in the browser's way: upload, see the faces and their verdicts, pick the person's face, save.

The verdicts and templates come from the same code as `facetrail watchlist import`, so a group photo
the command line refuses without --face is shown here as two faces, neither chosen for the enroller.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from facetrail.analytics.enrolment import EnrolmentError, enrolment_face
from facetrail.api.app import create_app
from facetrail.audit.log import AuditLog

from .conftest import build_world, login
from .enrolment_photos import group_photo, jpeg_bytes, photo

NEW_PERSON = {"display_name": "Barack Obama", "legal_basis": "case 2026/114", "image_source": "press archive",
              "expires_in_days": 30}


@pytest.fixture(scope="module")
def group_jpeg() -> bytes:
    return jpeg_bytes(group_photo())


def _upload(client, headers, data: bytes, media: str = "image/jpeg"):
    return client.post("/api/v1/enrolment/photos", content=data, headers={**headers, "Content-Type": media})


def _left_face(uploaded: dict) -> int:
    return min(uploaded["faces"], key=lambda f: f["box"]["x"])["index"]


def _audit(world, action: str) -> list:
    return [r for r in AuditLog(world.db).records() if r.action == action]


def test_a_group_photo_shows_each_face_with_its_verdict_and_none_chosen_for_the_enroller(client, as_role, group_jpeg):
    response = _upload(client, as_role["enroller"], group_jpeg)
    assert response.status_code == 201, response.text
    uploaded = response.json()
    assert (uploaded["width"], uploaded["height"]) == (2000, 1200)
    assert len(uploaded["faces"]) == 2
    assert [f["problems"] for f in uploaded["faces"]] == [[], []]
    assert [f["main"] for f in uploaded["faces"]] == [False, False]  # as the CLI refuses it without --face


def test_a_face_behind_dark_glasses_is_shown_with_the_verdict_eyes_not_visible(client, as_role):
    from analytics.occlusion import with_dark_glasses

    obama = photo("obama.jpg")
    models = client.app.state.ctx.face_models
    hidden = with_dark_glasses(obama, models.detector.detect(obama)[0])
    response = _upload(client, as_role["enroller"], jpeg_bytes(hidden))
    assert response.status_code == 201, response.text
    [face] = response.json()["faces"]
    assert any("eyes not visible" in problem for problem in face["problems"]), face["problems"]


def test_the_picked_face_is_enrolled_and_only_a_crop_around_it_is_stored(client, world, as_role, group_jpeg):
    uploaded = _upload(client, as_role["enroller"], group_jpeg).json()
    response = client.post("/api/v1/people", headers=as_role["enroller"], json={
        **NEW_PERSON, "photos": [{"upload_id": uploaded["upload_id"], "face": _left_face(uploaded)}]})
    assert response.status_code == 201, response.text
    person = response.json()
    assert (person["display_name"], person["enrolled_by"], person["photos"]) == ("Barack Obama", "enroller1", 1)
    [key] = world.objects.keys(f"enrolment/{person['entry_id']}/")
    stored = cv2.imdecode(np.frombuffer(world.objects.get(key), np.uint8), cv2.IMREAD_COLOR)
    assert max(stored.shape[:2]) <= 480  # the face with a margin, not the group photo
    [enrolled] = _audit(world, "watchlist.enrol")
    assert enrolled.subject == person["entry_id"] and enrolled.details["face"] == "pointed"
    assert enrolled.actor == "enroller1" and enrolled.details["legal_basis"] == "case 2026/114"


def test_the_template_is_of_the_picked_face_even_when_it_is_the_smaller_one(client, world, as_role, group_jpeg):
    uploaded = _upload(client, as_role["enroller"], group_jpeg).json()
    left = _left_face(uploaded)  # Obama's face, smaller than Biden's beside it
    person = client.post("/api/v1/people", headers=as_role["enroller"], json={
        **NEW_PERSON, "photos": [{"upload_id": uploaded["upload_id"], "face": left}]}).json()
    models = client.app.state.ctx.face_models
    biden_alone = enrolment_face(photo("biden.jpg"), models.detector, models.embedder).embedding
    obama_alone = enrolment_face(photo("obama.jpg"), models.detector, models.embedder).embedding
    [template] = [p.embeddings[0] for p in world_people(client) if p.entry_id == person["entry_id"]]
    assert np.linalg.norm(template - obama_alone) < np.linalg.norm(template - biden_alone)


def world_people(client):
    ctx = client.app.state.ctx
    return ctx.watchlist.enrolled_people(ctx.face_models.embedder.space.model)


def test_an_abandoned_upload_leaves_nothing_stored_and_is_forgotten_when_its_time_is_up(client, world, as_role, group_jpeg):
    objects_before, audit_before = sorted(world.objects.keys()), AuditLog(world.db).count()
    uploaded = _upload(client, as_role["enroller"], group_jpeg).json()
    assert sorted(world.objects.keys()) == objects_before
    assert [r.display_name for r in client.app.state.ctx.watchlist.records()] == ["Ada Lovelace", "Bob Byrne"]
    assert AuditLog(world.db).count() == audit_before + 1  # the analysis is audited by counts only
    shelf = client.app.state.ctx.photo_shelf
    shelf._clock = lambda: float("inf")  # its time is up
    assert len(shelf) == 0
    response = client.post("/api/v1/people", headers=as_role["enroller"], json={
        **NEW_PERSON, "photos": [{"upload_id": uploaded["upload_id"], "face": 0}]})
    assert response.status_code == 404 and "upload it again" in response.json()["detail"]


def test_an_upload_is_usable_only_by_whoever_uploaded_it(client, world, as_role, group_jpeg):
    world.add_user("enroller2", "enroller")
    uploaded = _upload(client, as_role["enroller"], group_jpeg).json()
    response = client.post("/api/v1/people", headers=login(client, "enroller2"), json={
        **NEW_PERSON, "photos": [{"upload_id": uploaded["upload_id"], "face": 0}]})
    assert response.status_code == 404


def test_a_blurred_face_is_shown_with_the_reason_and_picking_it_is_refused_with_the_clis_message(client, world, as_role):
    blurred = cv2.GaussianBlur(photo("obama.jpg"), (0, 0), 10)  # blurred to both detectors (YuNet, dlib HOG)
    uploaded = _upload(client, as_role["enroller"], jpeg_bytes(blurred)).json()
    [face] = uploaded["faces"]
    assert any("blurred" in p for p in face["problems"]), face
    models = client.app.state.ctx.face_models
    with pytest.raises(EnrolmentError) as cli:
        enrolment_face(blurred, models.detector, models.embedder)
    response = client.post("/api/v1/people", headers=as_role["enroller"], json={
        **NEW_PERSON, "photos": [{"upload_id": uploaded["upload_id"], "face": 0}]})
    assert response.status_code == 422 and response.json()["detail"] == f"photo 1: {cli.value}"
    assert [r.display_name for r in client.app.state.ctx.watchlist.records()] == ["Ada Lovelace", "Bob Byrne"]


@pytest.mark.parametrize("missing", ["legal_basis", "image_source", "expires_in_days"])
def test_an_entry_without_its_accountability_record_is_refused(client, as_role, group_jpeg, missing):
    uploaded = _upload(client, as_role["enroller"], group_jpeg).json()
    body = {**NEW_PERSON, "photos": [{"upload_id": uploaded["upload_id"], "face": 0}]}
    del body[missing]
    response = client.post("/api/v1/people", headers=as_role["enroller"], json=body)
    assert response.status_code == 422 and missing in response.json()["message"]


def test_an_expiry_beyond_the_configured_maximum_is_refused(client, as_role, group_jpeg):
    uploaded = _upload(client, as_role["enroller"], group_jpeg).json()
    response = client.post("/api/v1/people", headers=as_role["enroller"], json={
        **NEW_PERSON, "expires_in_days": 91, "photos": [{"upload_id": uploaded["upload_id"], "face": 0}]})
    assert response.status_code == 422 and "maximum of 90 days" in response.json()["detail"]


def test_a_file_that_is_not_a_jpeg_png_or_webp_is_a_415(client, as_role):
    response = _upload(client, as_role["enroller"], b"GIF89a" + bytes(100), "image/gif")
    assert response.status_code == 415 and "JPEG, PNG or WebP" in response.json()["detail"]


def test_a_photo_over_the_size_limit_is_a_413(tmp_path, group_jpeg):
    world = build_world(tmp_path, "api: {max_image_bytes: 65536}\n")
    with TestClient(create_app(world.config, live_alerts=False)) as client:
        response = _upload(client, login(client, "enroller1"), group_jpeg)
    world.close()
    assert response.status_code == 413 and "api.max_image_bytes" in response.json()["detail"]


def test_a_photo_with_too_many_pixels_is_a_413_before_it_is_decoded(tmp_path):
    world = build_world(tmp_path, "api: {max_image_pixels: 10000}\n")
    png = cv2.imencode(".png", np.zeros((200, 200, 3), np.uint8))[1].tobytes()
    with TestClient(create_app(world.config, live_alerts=False)) as client:
        response = _upload(client, login(client, "enroller1"), png, "image/png")
    world.close()
    assert response.status_code == 413 and "api.max_image_pixels" in response.json()["detail"]


def test_extending_an_expiry_needs_a_reason_and_is_audited(client, world, as_role):
    refused = client.post("/api/v1/people/ada/expiry", headers=as_role["enroller"], json={"expires_in_days": 60})
    assert refused.status_code == 422 and "reason" in refused.json()["message"]
    response = client.post("/api/v1/people/ada/expiry", headers=as_role["enroller"],
                           json={"expires_in_days": 60, "reason": "case extended by court order 2026/9"})
    assert response.status_code == 200, response.text
    [change] = _audit(world, "watchlist.expiry")
    assert change.subject == "ada" and change.actor == "enroller1" and "reason_sha256" in change.details
    assert client.app.state.ctx.watchlist.get("ada").expires_at.isoformat() == change.details["to"]


def test_photos_added_to_an_existing_entry_are_stored_and_audited(client, as_role, world, group_jpeg):
    enroller = as_role["enroller"]
    first = _upload(client, enroller, group_jpeg).json()
    person = client.post("/api/v1/people", headers=enroller, json={
        **NEW_PERSON, "photos": [{"upload_id": first["upload_id"], "face": _left_face(first)}]}).json()
    more = _upload(client, enroller, jpeg_bytes(photo("obama.jpg"))).json()
    added = client.post(f"/api/v1/people/{person['entry_id']}/photos", headers=enroller,
                        json={"photos": [{"upload_id": more["upload_id"], "face": 0}]})
    assert added.status_code == 200, added.text
    assert added.json()["photos"] == 2
    assert client.get(f"/api/v1/people/{person['entry_id']}/photos/1", headers=enroller).status_code == 200
    [record] = _audit(world, "watchlist.photos.add")
    assert record.subject == person["entry_id"] and record.details["added"] == 1
    again = client.post(f"/api/v1/people/{person['entry_id']}/photos", headers=enroller,
                        json={"photos": [{"upload_id": more["upload_id"], "face": 0}]})
    assert again.status_code == 404  # an upload is used once
