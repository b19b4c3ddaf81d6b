"""The login lockout holds across API processes, and a client cannot dodge it by claiming another address."""

from __future__ import annotations

from contextlib import contextmanager

import httpx
import pytest
from fastapi.testclient import TestClient

from facetrail.api.app import create_app

from .server import facetrail_api
from .world import PASSWORD, World

FAST_CLIENT_LOCKOUT = "api: {login: {failures_per_client: 3, failures_per_account: 100}}\n"


def _fail(client, username: str, **headers) -> int:
    return client.post("/api/v1/login", json={"username": username, "password": "guess-guess-guess"}, headers=headers).status_code


def test_two_api_processes_on_one_database_share_the_account_lockout(world):
    limit = world.config.api.login.failures_per_account
    with TestClient(create_app(world.config, live_alerts=False)) as first, \
            TestClient(create_app(world.config, live_alerts=False)) as second:
        for attempt in range(limit):
            _fail(first if attempt % 2 else second, "operator1")
        response = second.post("/api/v1/login", json={"username": "operator1", "password": PASSWORD})
        assert response.status_code == 429
        assert first.post("/api/v1/login", json={"username": "operator1", "password": PASSWORD}).status_code == 429


@contextmanager
def _facetrail_api(world: World):
    with facetrail_api(world.config_path) as base, httpx.Client(base_url=base, timeout=30) as client:
        yield client


def test_a_forwarded_for_header_from_an_untrusted_peer_does_not_change_the_counted_address(tmp_path):
    world = World.create(tmp_path, FAST_CLIENT_LOCKOUT)
    try:
        with _facetrail_api(world) as client:
            codes = [_fail(client, f"user{i}", **{"X-Forwarded-For": f"203.0.113.{i}"}) for i in range(5)]
    finally:
        world.close()
    assert codes == [401, 401, 401, 429, 429]


def test_a_forwarded_for_header_from_a_configured_proxy_is_the_counted_address(tmp_path):
    world = World.create(tmp_path, FAST_CLIENT_LOCKOUT.replace("login:", "trusted_proxies: [127.0.0.1], login:"))
    try:
        with _facetrail_api(world) as client:
            locked = [_fail(client, f"user{i}", **{"X-Forwarded-For": "203.0.113.7"}) for i in range(4)]
            elsewhere = _fail(client, "user9", **{"X-Forwarded-For": "203.0.113.8"})
    finally:
        world.close()
    assert locked == [401, 401, 401, 429] and elsewhere == 401


def test_a_trusted_proxy_must_be_an_address_or_network(tmp_path):
    from facetrail.config import ConfigError

    with pytest.raises(ConfigError, match=r"api.trusted_proxies.*'\*' is not an IP address or network"):
        World.create(tmp_path, "api: {trusted_proxies: ['*']}\n")
