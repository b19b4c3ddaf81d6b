"""Confirm and reject through the API go to the review desk: two people confirm, one rejects, decided is final."""

from __future__ import annotations

from facetrail.audit.log import AuditLog
from facetrail.storage.sighting_store import SightingStore

from .conftest import login


def _gate(client, headers) -> str:
    return client.get("/api/v1/sightings", headers=headers, params={"camera": "gate"}).json()["items"][0]["event_id"]


def test_two_different_confirmations_confirm_a_sighting(client, world):
    operator, admin = login(client, "operator1"), login(client, "admin1")
    event_id = _gate(client, operator)
    first = client.post(f"/api/v1/sightings/{event_id}/decision", headers=operator, json={"decision": "confirm"}).json()
    second = client.post(f"/api/v1/sightings/{event_id}/decision", headers=admin, json={"decision": "confirm"}).json()
    assert (first["status"], first["confirmations"], first["required"]) == ("candidate", 1, 2)
    assert second["status"] == "confirmed" and SightingStore(world.db).get(event_id).status == "confirmed"


def test_a_rejection_is_recorded_in_the_audit_log_under_the_reviewer(client, world):
    operator = login(client, "operator1")
    event_id = _gate(client, operator)
    response = client.post(f"/api/v1/sightings/{event_id}/decision", headers=operator, json={"decision": "reject", "note": "not her"})
    assert response.json()["status"] == "rejected"
    assert any(r.action == "review.decision" and r.actor == "operator1" and r.subject == event_id
               for r in AuditLog(world.db).records())


def test_deciding_a_decided_sighting_again_is_a_409(client):
    operator = login(client, "operator1")
    event_id = _gate(client, operator)
    client.post(f"/api/v1/sightings/{event_id}/decision", headers=operator, json={"decision": "reject"})
    again = client.post(f"/api/v1/sightings/{event_id}/decision", headers=operator, json={"decision": "confirm"})
    assert again.status_code == 409 and "already rejected" in again.json()["detail"]


def test_an_unknown_decision_is_a_422(client):
    operator = login(client, "operator1")
    event_id = _gate(client, operator)
    response = client.post(f"/api/v1/sightings/{event_id}/decision", headers=operator, json={"decision": "maybe"})
    assert response.status_code == 422 and "body.decision" in response.json()["message"]


def test_a_rejected_sighting_leaves_its_person_s_track(client, world):
    from facetrail.storage.track_store import TrackStore

    operator = login(client, "operator1")
    event_id = _gate(client, operator)
    entry_id = SightingStore(world.db).get(event_id).event.entry_id
    visits_before = sum(v.sightings for t in TrackStore(world.db).search(entry_ids=[entry_id]) for v in t.visits)
    client.post(f"/api/v1/sightings/{event_id}/decision", headers=operator, json={"decision": "reject"})
    visits_after = sum(v.sightings for t in TrackStore(world.db).search(entry_ids=[entry_id]) for v in t.visits)
    assert visits_after == visits_before - 1


def test_a_rejection_racing_the_persons_erasure_is_a_409_with_a_clear_body_and_leaves_nothing(client, world, monkeypatch):
    """The erasure lands between the decision's write and the 'not this person' example it keeps (the race the
    probe hit with 12 decisions and one DELETE /people): the answer says so, and nothing of the person is left."""
    import numpy as np

    from facetrail.accountability.erasure import erase_entry
    from facetrail.accountability.review import ReviewDesk
    from facetrail.storage.models import EmbeddingRow, ReviewRow
    from sqlalchemy import select

    operator = login(client, "operator1")
    event_id = _gate(client, operator)
    ctx = client.app.state.ctx

    def face_found_while_erased(desk, crop):  # the erasure lands while the rejected crop is being embedded
        erase_entry("ada", ctx.db, ctx.objects, ctx.bus, bus_keeps_for=ctx.config.retention.bus_keeps_for)
        return np.ones(128, np.float32)

    monkeypatch.setattr(ReviewDesk, "_embed_crop", face_found_while_erased)
    response = client.post(f"/api/v1/sightings/{event_id}/decision", headers=operator, json={"decision": "reject"})
    assert response.status_code == 409, response.text
    assert "erased" in response.json()["detail"]
    with world.db.session() as session:
        assert session.scalars(select(EmbeddingRow).where(EmbeddingRow.entry_id == "ada")).all() == []
        assert session.scalars(select(ReviewRow).where(ReviewRow.entry_id == "ada")).all() == []
