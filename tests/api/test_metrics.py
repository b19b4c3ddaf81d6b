"""/metrics counts only what the caller's role may see: sightings of hidden watch-lists are not counted for it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from facetrail.api.app import create_app

from .conftest import login
from .world import World

# Ada is on the default list, which operators see; Eve is on a list only auditors see.
LISTS = "watchlist: {lists: {default: {roles: [operator, enroller, auditor]}, covert: {roles: [auditor]}}}\n"


@pytest.fixture
def client(tmp_path):
    world = World.create(tmp_path, LISTS)
    world.enrol("ada", "Ada Lovelace")
    world.enrol("eve", "Eve Moneypenny", watchlist="covert")
    at = datetime.now(timezone.utc) - timedelta(hours=1)
    world.publish("gate", "ada", at)
    for offset in (30, 60, 90):
        world.publish("lobby", "eve", at + timedelta(seconds=offset))
    world.stitch()
    for role in ("operator", "auditor"):
        world.add_user(f"{role}1", role)
    with TestClient(create_app(world.config, live_alerts=False)) as test_client:
        yield test_client
    world.close()


def _candidates(client, username: str) -> str:
    text = client.get("/metrics", headers=login(client, username)).text
    return [line for line in text.splitlines() if line.startswith('facetrail_sightings{status="candidate"}')][0]


def test_an_operator_is_not_shown_counts_of_a_watch_list_it_cannot_see(client):
    assert _candidates(client, "operator1").endswith(" 1.0")


def test_a_role_that_sees_every_list_is_shown_every_count(client):
    assert _candidates(client, "auditor1").endswith(" 4.0")
