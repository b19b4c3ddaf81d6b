"""Reviewers see each other: a decision is pushed on the live stream to every console, with who decided it."""

from __future__ import annotations

import httpx

from facetrail.api.app import create_app

from .server import first_live, serving
from .world import PASSWORD


def _token(base: str, username: str) -> str:
    return httpx.post(f"{base}/api/v1/login", json={"username": username, "password": PASSWORD}).json()["access_token"]


def test_one_reviewers_confirmation_reaches_another_reviewers_console_with_who_decided(world):
    with serving(create_app(world.config)) as base:
        first, second = _token(base, "operator1"), _token(base, "admin1")
        received = first_live(base, second, "decision")
        headers = {"Authorization": f"Bearer {first}"}
        event_id = httpx.get(f"{base}/api/v1/sightings", headers=headers, params={"camera": "gate"}).json()["items"][0]["event_id"]
        httpx.post(f"{base}/api/v1/sightings/{event_id}/decision", headers=headers, json={"decision": "confirm"})
        pushed = received.get(timeout=5)[1]["sighting"]
    assert pushed["event_id"] == event_id and (pushed["status"], pushed["confirmations"]) == ("candidate", 1)
    assert [(d["reviewer"], d["decision"]) for d in pushed["decisions"]] == [("operator1", "confirm")]


def test_acting_on_a_stale_card_says_who_decided_first(client):
    from .conftest import login

    operator, admin = login(client, "operator1"), login(client, "admin1")
    event_id = client.get("/api/v1/sightings", headers=operator, params={"camera": "gate"}).json()["items"][0]["event_id"]
    client.post(f"/api/v1/sightings/{event_id}/decision", headers=operator, json={"decision": "reject"})
    late = client.post(f"/api/v1/sightings/{event_id}/decision", headers=admin, json={"decision": "confirm"})
    assert late.status_code == 409 and late.json()["detail"].startswith("This sighting was already rejected by operator1 at ")
    listed = client.get(f"/api/v1/sightings/{event_id}", headers=admin).json()
    assert [d["reviewer"] for d in listed["decisions"]] == ["operator1"] and listed["rejected_example"] is not None


def test_withdrawing_an_example_that_was_never_kept_is_refused_in_words(client):
    from .conftest import login

    operator, admin = login(client, "operator1"), login(client, "admin1")
    event_id = client.get("/api/v1/sightings", headers=operator, params={"camera": "gate"}).json()["items"][0]["event_id"]
    client.post(f"/api/v1/sightings/{event_id}/decision", headers=operator, json={"decision": "confirm"})
    refused = client.post(f"/api/v1/sightings/{event_id}/example/withdrawal", headers=admin, json={"reason": "wrong"})
    assert refused.status_code == 422 and "nothing to withdraw" in refused.json()["detail"]
