"""Hostile input gets a 4xx with a clear body and the usual security headers, never a 500 or an echo of what was sent."""

from __future__ import annotations

import pytest

from .world import PASSWORD

LIST_ROUTES = ("/api/v1/tracks", "/api/v1/sightings", "/api/v1/alerts", "/api/v1/cameras/gate/visits")
EXTREME_TIMES = ({"since": "9999-12-31T00:00:00Z"}, {"until": "0001-01-01T00:00:00Z"},
                 {"since": "0001-01-01T00:00:00+05:00"}, {"until": "9999-12-31T23:59:59-05:00"})


SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy")


def _security_headers(response) -> dict[str, str | None]:
    return {name: response.headers.get(name) for name in SECURITY_HEADERS}


@pytest.fixture(scope="module")
def page_headers(module_client):
    """The security headers every page gets, as the dashboard's page shows them."""
    headers = _security_headers(module_client.get("/"))
    assert all(headers.values())
    return headers


@pytest.mark.parametrize("route", LIST_ROUTES)
@pytest.mark.parametrize("params", EXTREME_TIMES, ids=lambda p: "=".join(*p.items()))
def test_a_time_at_the_edge_of_the_calendar_is_a_422_naming_the_field(module_client, module_roles, page_headers, route,
                                                                        params):
    response = module_client.get(route, headers=module_roles["operator"], params=params)
    assert response.status_code == 422, response.text
    [name] = params
    assert f"query.{name}: give a time between 1970 and 9000" in response.json()["message"]
    assert _security_headers(response) == page_headers


@pytest.mark.parametrize("body", [b'{"username": NaN, "password": "x"}', b'{"username": "operator1", "password": NaN}',
                                  b'{"username": Infinity, "password": -Infinity}'])
def test_nan_in_a_login_body_is_a_422_without_logging_in(module_client, page_headers, body):
    response = module_client.post("/api/v1/login", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert "Input should be a valid string" in response.json()["message"] and _security_headers(response) == page_headers


def test_nan_as_a_decision_is_a_422(module_client, module_roles, page_headers):
    headers = {"Content-Type": "application/json", **module_roles["operator"]}
    response = module_client.post(f"/api/v1/sightings/{'0' * 32}/decision", content=b'{"decision": NaN}', headers=headers)
    assert response.status_code == 422, response.text
    assert "body.decision" in response.json()["message"] and _security_headers(response) == page_headers


@pytest.mark.parametrize("body", [{"username": "operator1", "password": "s3cret-" * 200},
                                  {"username": "operator1", "password": "s3cret-value", "extra": 1},
                                  [{"username": "operator1", "password": "s3cret-value"}]])
def test_a_refused_login_body_never_echoes_the_password(module_client, body):
    response = module_client.post("/api/v1/login", json=body)
    assert response.status_code == 422
    assert "s3cret" not in response.text and PASSWORD not in response.text


def test_an_unexpected_error_is_a_500_with_the_security_headers_and_no_cause(world):
    from fastapi.testclient import TestClient

    from facetrail.api.app import create_app

    app = create_app(world.config, live_alerts=False)

    def fail() -> None:
        raise RuntimeError("secret cause")

    app.add_api_route("/api/v1/failing", fail)
    with TestClient(app, raise_server_exceptions=False) as client:
        response, page = client.get("/api/v1/failing"), client.get("/")
    assert response.status_code == 500 and "secret cause" not in response.text
    assert _security_headers(response) == _security_headers(page)
