from __future__ import annotations

import warnings
from datetime import datetime, timedelta, timezone

import pytest

warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
from fastapi.testclient import TestClient  # noqa: E402

from facetrail.api.app import create_app  # noqa: E402

from .world import PASSWORD, ROLES, World, populated_world  # noqa: E402

# Sightings an hour ago: inside every default (last 24 h) window.
T0 = (datetime.now(timezone.utc) - timedelta(hours=1)).replace(microsecond=0)


def build_world(root, extra_config: str = "") -> World:
    return populated_world(root, T0, extra_config)


@pytest.fixture
def world(tmp_path):
    world = build_world(tmp_path)
    yield world
    world.close()


@pytest.fixture
def client(world):
    with TestClient(create_app(world.config, live_alerts=False)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def module_world(tmp_path_factory):
    """One world for tests that change nothing in it (read-only queries, refused calls)."""
    world = build_world(tmp_path_factory.mktemp("world"))
    yield world
    world.close()


@pytest.fixture(scope="module")
def module_client(module_world):
    with TestClient(create_app(module_world.config, live_alerts=False)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def module_roles(module_client):
    return {role: login(module_client, f"{role}1") for role in ROLES}


def login(client, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/api/v1/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def as_role(client):
    """Headers of a freshly logged-in user of each role."""
    return {role: login(client, f"{role}1") for role in ROLES}
