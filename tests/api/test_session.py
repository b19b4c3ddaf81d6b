"""Logging in and out: audited, no password in the log, tokens revoked on logout and on removal."""

from __future__ import annotations

import json

from facetrail.audit.log import AuditLog
from facetrail.auth.accounts import Accounts
from facetrail.storage.user_store import UserStore

from .conftest import login
from .world import PASSWORD


def test_a_wrong_password_is_a_401_and_an_audited_failure_without_the_password(client, world):
    response = client.post("/api/v1/login", json={"username": "operator1", "password": "guess-guess-guess"})
    assert response.status_code == 401 and response.json() == {"detail": "wrong username or password"}
    [failure] = [r for r in AuditLog(world.db).records() if r.action == "login.failure"]
    assert failure.actor == "operator1" and "guess-guess-guess" not in json.dumps(failure.details)


def test_a_successful_login_is_audited_and_names_the_role(client, world):
    response = client.post("/api/v1/login", json={"username": "auditor1", "password": PASSWORD})
    assert response.json()["role"] == "auditor" and response.json()["token_type"] == "bearer"
    assert any(r.action == "login.success" and r.actor == "auditor1" for r in AuditLog(world.db).records())
    assert PASSWORD not in json.dumps([r.details for r in AuditLog(world.db).records()])


def test_an_unknown_user_gets_the_same_answer_as_a_wrong_password(client):
    response = client.post("/api/v1/login", json={"username": "mallory", "password": PASSWORD})
    assert response.status_code == 401 and response.json() == {"detail": "wrong username or password"}


def test_logging_out_revokes_the_token(client):
    headers = login(client, "operator1")
    assert client.post("/api/v1/logout", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_removing_a_user_revokes_their_tokens(client, world):
    headers = login(client, "operator1")
    Accounts(UserStore(world.db)).remove_user("operator1")
    assert client.get("/api/v1/cameras", headers=headers).status_code == 401


def test_metrics_report_counts_per_camera_and_sightings_by_status(client, world):
    from facetrail.health import CameraHealth
    from facetrail.storage.health_store import HealthStore
    from datetime import datetime, timezone

    HealthStore(world.db).record(CameraHealth(camera_id="gate", state="running", analysed_fps=4.5,
                                              reported_at=datetime.now(timezone.utc), faces_detected=7,
                                              detection_ms=12.5, embedding_ms=30.0))
    text = client.get("/metrics", headers=login(client, "operator1")).text
    assert 'facetrail_camera_analysed_fps{camera="gate"} 4.5' in text
    assert 'facetrail_camera_detection_seconds{camera="gate"} 0.0125' in text
    assert 'facetrail_camera_embedding_seconds{camera="gate"} 0.03' in text
    assert 'facetrail_sightings{status="candidate"} 4.0' in text
    assert "facetrail_bus_lag_messages 0.0" in text
    assert "Ada" not in text and "ada" not in text


def test_repeated_wrong_passwords_lock_the_account_with_a_429_that_says_when_to_retry(client, world):
    for _ in range(world.config.api.login.failures_per_account):
        client.post("/api/v1/login", json={"username": "operator1", "password": "guess-guess-guess"})
    response = client.post("/api/v1/login", json={"username": "operator1", "password": PASSWORD})
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) == 900 and "try again in 900 s" in response.json()["detail"]
    assert any(r.action == "login.throttled" and r.actor == "operator1" for r in AuditLog(world.db).records())


def test_a_locked_account_does_not_lock_out_other_users(client, world):
    for _ in range(world.config.api.login.failures_per_account):
        client.post("/api/v1/login", json={"username": "operator1", "password": "guess-guess-guess"})
    assert client.post("/api/v1/login", json={"username": "auditor1", "password": PASSWORD}).status_code == 200


def test_a_request_without_a_valid_token_is_audited_as_a_refusal_by_route(client, world):
    assert client.get("/api/v1/tracks", params={"person": "ada"}).status_code == 401
    assert client.get("/api/v1/sightings", headers={"Authorization": "Bearer forged"}).status_code == 401
    refused = [r for r in AuditLog(world.db).records() if r.action == "access.refused"]
    assert [(r.actor, r.subject, r.details["status"]) for r in refused] == [
        ("anonymous", "/api/v1/tracks", 401), ("anonymous", "/api/v1/sightings", 401)]
    assert "forged" not in json.dumps([r.details for r in refused]) and "ada" not in json.dumps([r.details for r in refused])


def test_a_role_refused_a_route_is_audited_under_its_name(client, world):
    assert client.get("/api/v1/people", headers=login(client, "auditor1")).status_code == 403
    [refused] = [r for r in AuditLog(world.db).records() if r.action == "access.refused"]
    assert (refused.actor, refused.subject, refused.details["status"], refused.details["method"]) == (
        "auditor1", "/api/v1/people", 403, "GET")


def test_a_wrong_password_is_not_audited_twice(client, world):
    client.post("/api/v1/login", json={"username": "operator1", "password": "guess-guess-guess"})
    assert [r.action for r in AuditLog(world.db).records()] == ["login.failure"]


def test_a_user_holds_a_bounded_number_of_live_tokens_and_the_oldest_is_revoked_first(client):
    from facetrail.auth.accounts import MAX_LIVE_TOKENS

    sessions = [login(client, "operator1") for _ in range(MAX_LIVE_TOKENS + 2)]
    live = [client.get("/api/v1/me", headers=s).status_code for s in sessions]
    assert live == [401, 401] + [200] * MAX_LIVE_TOKENS
