"""Evidence crops and enrolled photos are served only through the API, to callers with the right, and each view is audited."""

from __future__ import annotations

from facetrail.audit.log import AuditLog


def _gate_sighting(client, headers):
    return client.get("/api/v1/sightings", headers=headers, params={"camera": "gate"}).json()["items"][0]


def test_an_operator_gets_the_evidence_crop_as_stored(module_client, module_roles, module_world):
    sighting = _gate_sighting(module_client, module_roles["operator"])
    response = module_client.get(sighting["evidence_url"], headers=module_roles["operator"])
    stored = [k for k in module_world.objects.keys("evidence/gate/") if sighting["event_id"] in k]
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    assert response.content == module_world.objects.get(stored[0])
    assert "no-store" in response.headers["cache-control"]


def test_an_evidence_view_is_audited(module_client, module_roles, module_world):
    sighting = _gate_sighting(module_client, module_roles["operator"])
    module_client.get(sighting["evidence_url"], headers=module_roles["operator"])
    assert any(r.action == "evidence.view" and r.subject == sighting["event_id"] and r.actor == "operator1"
               for r in AuditLog(module_world.db).records())


def test_an_enroller_may_not_see_evidence(module_client, module_roles):
    sighting = _gate_sighting(module_client, module_roles["operator"])
    assert module_client.get(sighting["evidence_url"], headers=module_roles["enroller"]).status_code == 403


def test_a_sighting_without_a_crop_answers_404(module_client, module_roles):
    [bob] = module_client.get("/api/v1/sightings", headers=module_roles["operator"], params={"person": "bob"}).json()["items"]
    response = module_client.get(f"/api/v1/sightings/{bob['event_id']}/evidence", headers=module_roles["operator"])
    assert bob["evidence_url"] is None and response.status_code == 404


def test_the_enrolled_photo_is_served_to_operators(module_client, module_roles, module_world):
    response = module_client.get("/api/v1/people/ada/photos/0", headers=module_roles["operator"])
    assert response.status_code == 200 and response.content == module_world.objects.get("enrolment/ada/0.jpg")


def test_a_missing_photo_index_answers_404(module_client, module_roles):
    assert module_client.get("/api/v1/people/ada/photos/3", headers=module_roles["operator"]).status_code == 404
