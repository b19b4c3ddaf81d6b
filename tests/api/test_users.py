"""Admins manage users through the API: add with a role, disable, reset a password; last logins and lockouts shown."""

from __future__ import annotations

from facetrail.audit.log import AuditLog

from .conftest import login
from .world import PASSWORD

NEW_PASSWORD = "violet tractor seventeen lanterns"


def _users(client, headers) -> dict[str, dict]:
    return {u["username"]: u for u in client.get("/api/v1/users", headers=headers).json()["items"]}


def test_an_added_user_can_log_in_with_their_role_and_the_addition_is_audited(client, world, as_role):
    response = client.post("/api/v1/users", headers=as_role["admin"],
                           json={"username": "dora", "role": "auditor", "password": NEW_PASSWORD})
    assert response.status_code == 201, response.text
    assert client.get("/api/v1/me", headers=login(client, "dora", NEW_PASSWORD)).json()["role"] == "auditor"
    [added] = [r for r in AuditLog(world.db).records() if r.action == "user.add"]
    assert (added.actor, added.subject, added.details) == ("admin1", "dora", {"role": "auditor"})
    assert NEW_PASSWORD not in str(AuditLog(world.db).records())


def test_a_guessable_password_is_refused_with_the_reason(client, as_role):
    response = client.post("/api/v1/users", headers=as_role["admin"],
                           json={"username": "dora", "role": "operator", "password": "password1234"})
    assert response.status_code == 422 and "too easy to guess" in response.json()["detail"]


def test_a_disabled_user_loses_their_session_and_cannot_log_in_until_enabled(client, as_role):
    session = as_role["operator"]
    response = client.post("/api/v1/users/operator1/state", headers=as_role["admin"], json={"disabled": True})
    assert response.status_code == 200 and response.json()["disabled"]
    assert client.get("/api/v1/me", headers=session).status_code == 401
    assert client.post("/api/v1/login", json={"username": "operator1", "password": PASSWORD}).status_code == 401
    client.post("/api/v1/users/operator1/state", headers=as_role["admin"], json={"disabled": False})
    assert client.get("/api/v1/me", headers=login(client, "operator1")).status_code == 200


def test_an_admin_cannot_disable_themselves(client, as_role):
    response = client.post("/api/v1/users/admin1/state", headers=as_role["admin"], json={"disabled": True})
    assert response.status_code == 409


def test_a_password_reset_applies_the_strength_rule_and_ends_the_users_sessions(client, as_role):
    weak = client.post("/api/v1/users/enroller1/password", headers=as_role["admin"], json={"password": "enroller1enroller1"})
    assert weak.status_code == 422
    response = client.post("/api/v1/users/enroller1/password", headers=as_role["admin"], json={"password": NEW_PASSWORD})
    assert response.status_code == 204
    assert client.get("/api/v1/me", headers=as_role["enroller"]).status_code == 401
    assert client.get("/api/v1/me", headers=login(client, "enroller1", NEW_PASSWORD)).status_code == 200


def test_the_list_shows_last_login_and_a_lockout(client, as_role):
    for _ in range(5):
        client.post("/api/v1/login", json={"username": "auditor1", "password": "wrong password entirely"})
    users = _users(client, as_role["admin"])
    assert users["auditor1"]["locked_until"] is not None and users["operator1"]["locked_until"] is None
    assert users["operator1"]["last_login_at"] is not None  # as_role logged everyone in
    assert "password" not in str(users) and "hash" not in str(users)


def test_a_refused_user_addition_is_audited_without_the_password(client, world, as_role):
    response = client.post("/api/v1/users", headers=as_role["admin"],
                           json={"username": "dora", "role": "operator", "password": "password1234"})
    assert response.status_code == 422
    [refused] = [r for r in AuditLog(world.db).records() if r.action == "user.add_refused"]
    assert (refused.actor, refused.subject, refused.details["role"]) == ("admin1", "dora", "operator")
    assert "too easy to guess" in refused.details["reason"] and "password1234" not in str(refused.details)



def test_a_user_addition_refused_by_the_schema_is_audited_without_the_password(client, world, as_role):
    response = client.post("/api/v1/users", headers=as_role["admin"],
                           json={"username": "dora", "role": "root", "password": "a long passphrase 123"})
    assert response.status_code == 422
    [refused] = [r for r in AuditLog(world.db).records() if r.action == "user.add_refused"]
    assert refused.actor == "admin1" and "role" in refused.details["reason"]
    assert "a long passphrase 123" not in str(refused.details)
