"""Every API route checks the caller's role; the table is read from the app, so a new route without a check fails here."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from facetrail.api.app import create_app
from facetrail.auth.accounts import Accounts
from facetrail.storage.user_store import UserStore

from .conftest import login
from .world import PASSWORD, ROLES, World

PUBLIC = {("POST", "/api/v1/login"), ("GET", "/")}
# What this module's author granted; routes added by others must at least have a role check.
EXPECTED = {
    ("POST", "/api/v1/logout"): set(ROLES),
    ("GET", "/api/v1/me"): set(ROLES),
    ("GET", "/api/v1/people"): {"operator", "enroller", "admin"},  # operators search tracks by person
    ("GET", "/api/v1/people/{entry_id}"): {"enroller", "admin"},
    ("DELETE", "/api/v1/people/{entry_id}"): {"enroller", "admin"},
    ("GET", "/api/v1/people/{entry_id}/photos/{index}"): {"operator", "enroller", "admin"},
    ("GET", "/api/v1/tracks"): {"operator", "admin"},
    ("GET", "/api/v1/tracks/{track_id}"): {"operator", "admin"},
    ("GET", "/api/v1/cameras/{camera_id}/visits"): {"operator", "admin"},
    ("GET", "/api/v1/sightings"): {"operator", "admin"},
    ("GET", "/api/v1/sightings/{event_id}"): {"operator", "admin"},
    ("GET", "/api/v1/sightings/{event_id}/evidence"): {"operator", "admin"},
    ("POST", "/api/v1/sightings/{event_id}/decision"): {"operator", "admin"},
    ("GET", "/api/v1/alerts"): {"operator", "admin"},
    ("GET", "/api/v1/alerts/stream"): {"operator", "admin"},
    ("GET", "/api/v1/cameras"): {"operator", "admin"},
    ("GET", "/api/v1/matching"): set(ROLES),
    ("POST", "/api/v1/enrolment/photos"): {"enroller", "admin"},
    ("DELETE", "/api/v1/enrolment/photos/{upload_id}"): {"enroller", "admin"},
    ("POST", "/api/v1/people"): {"enroller", "admin"},
    ("POST", "/api/v1/people/{entry_id}/expiry"): {"enroller", "admin"},
    ("GET", "/api/v1/audit"): {"auditor", "admin"},
    ("GET", "/api/v1/audit/verify"): {"auditor", "admin"},
    ("GET", "/api/v1/audit/export"): {"auditor", "admin"},
    ("GET", "/api/v1/audit/entries"): {"auditor", "admin"},
    ("GET", "/api/v1/users"): {"admin"},
    ("POST", "/api/v1/users"): {"admin"},
    ("POST", "/api/v1/users/{username}/state"): {"admin"},
    ("POST", "/api/v1/users/{username}/password"): {"admin"},
    ("PUT", "/api/v1/site-plan"): {"admin"},
    ("GET", "/api/v1/site-plan"): {"operator", "admin"},
    ("GET", "/api/v1/site-plan/extent"): {"operator", "admin"},
    ("DELETE", "/api/v1/site-plan"): {"admin"},
    ("GET", "/api/v1/archive/jobs"): {"operator", "admin"},
    ("GET", "/api/v1/archive/jobs/{job_id}"): {"operator", "admin"},
    ("POST", "/api/v1/archive/jobs/{job_id}/cancel"): {"operator", "admin"},
    ("POST", "/api/v1/archive/jobs/{job_id}/retry"): {"operator", "admin"},
}
# Ids that exist nowhere, so an admitted call touches nothing (404), whatever the route does.
PATH_VALUES = {"entry_id": "nobody", "index": "0", "track_id": "0" * 32, "event_id": "0" * 32, "camera_id": "gate",
               "upload_id": "0" * 32, "username": "nobody", "job_id": "0" * 16}
BODIES = {"/api/v1/sightings/{event_id}/decision": {"decision": "confirm"},
          "/api/v1/people/{entry_id}/expiry": {"expires_in_days": 1, "reason": "test"},
          "/api/v1/users/{username}/state": {"disabled": False},
          "/api/v1/users/{username}/password": {"password": "x"}}


def _routes():
    # Built from a throwaway app: the route table does not depend on the data.
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        world = World.create(Path(tmp))
        app = create_app(world.config, live_alerts=False)
        found = [(method, rc.path, rc.route) for rc in iter_route_contexts(app.routes) if isinstance(rc.route, APIRoute)
                 for method in sorted(rc.methods or ())]
        world.close()
    return [(m, p, r) for m, p, r in found if (m, p) not in PUBLIC]


ROUTES = _routes()
IDS = [f"{m} {p}" for m, p, _ in ROUTES]


def _allowed_roles(route: APIRoute) -> set[str] | None:
    pending = list(route.dependant.dependencies)
    while pending:
        dependant = pending.pop()
        roles = getattr(dependant.call, "allowed_roles", None)
        if roles is not None:
            return set(roles)
        pending.extend(dependant.dependencies)
    return None


def _call(client, method: str, path: str, headers: dict | None = None):
    url = path.format(**PATH_VALUES)
    return client.request(method, url, headers=headers or {}, json=BODIES.get(path))


def test_the_route_table_is_not_empty():
    assert len(ROUTES) >= len(EXPECTED)


@pytest.mark.parametrize("method,path,route", ROUTES, ids=IDS)
def test_every_route_declares_the_roles_it_admits(method, path, route):
    roles = _allowed_roles(route)
    assert roles, f"{method} {path} has no require_roles(...) dependency"
    if (method, path) in EXPECTED:
        assert roles == EXPECTED[(method, path)]


@pytest.mark.parametrize("method,path,route", ROUTES, ids=IDS)
def test_every_route_answers_401_without_a_token(module_client, method, path, route):
    response = _call(module_client, method, path)
    assert response.status_code == 401
    assert "log in" in response.json()["detail"]
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("method,path,route", ROUTES, ids=IDS)
def test_every_route_answers_401_to_an_invalid_token(module_client, method, path, route):
    response = _call(module_client, method, path, {"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401 and "invalid or expired" in response.json()["detail"]


@pytest.mark.parametrize("method,path,route", ROUTES, ids=IDS)
def test_every_route_answers_401_to_an_expired_token(module_client, module_world, method, path, route):
    issued = Accounts(UserStore(module_world.db)).login("admin1", PASSWORD, now=datetime.now(timezone.utc) - timedelta(days=2))
    response = _call(module_client, method, path, {"Authorization": f"Bearer {issued.token}"})
    assert response.status_code == 401


@pytest.mark.parametrize("method,path,route", ROUTES, ids=IDS)
def test_every_route_answers_403_to_every_role_it_does_not_admit(module_client, module_roles, method, path, route):
    refused = set(ROLES) - (_allowed_roles(route) or set())
    for role in sorted(refused):
        response = _call(module_client, method, path, module_roles[role])
        assert response.status_code == 403, f"{role} got {response.status_code} on {method} {path}"
        assert f"role '{role}' may not" in response.json()["detail"]


@pytest.mark.parametrize("method,path,route", [r for r in ROUTES if not r[1].endswith("/stream")],
                         ids=[i for i in IDS if not i.endswith("/stream")])
def test_every_route_admits_the_roles_it_declares(module_client, method, path, route):
    for role in sorted(_allowed_roles(route) or ()):
        headers = login(module_client, f"{role}1")  # fresh: logout revokes the token it is called with
        response = _call(module_client, method, path, headers)
        assert response.status_code not in (401, 403), f"{role} refused on {method} {path}: {response.text}"
