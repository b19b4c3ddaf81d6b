"""The dashboard in a real browser (Debian's chromium): log in, a live alert arrives, its track is drawn, it is confirmed.

Also in the browser: the OpenAPI pages render under the app's own CSP, logging
out stops every call, and a partly confirmed alert says how far it has got.
"""

from __future__ import annotations

import os
import subprocess
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from api.server import facetrail_api
from api.world import PASSWORD, populated_world
from facetrail.storage.sighting_store import SightingStore

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# One confirmation decides here, so the page shows the final state after one click.
CONFIG = "review: {reviewers_required: 1}\n"


def _chromium() -> None:
    installed = subprocess.run(["bash", str(REPO / "scripts" / "install-browser")], capture_output=True, text=True)
    if installed.returncode != 0 or not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"chromium not available (scripts/install-browser failed: {installed.stderr.strip()[-300:]})")


@contextmanager
def _browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def _sign_in(page, base: str, username: str) -> None:
    page.goto(base + "/")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#live-state.live", timeout=10_000)


@contextmanager
def serving_cy(tmp_path, config: str = CONFIG):
    """The populated world plus Cy, seen at the gate and then the lobby in the last minutes, behind `facetrail api`."""
    _chromium()
    now = datetime.now(timezone.utc)
    world = populated_world(tmp_path, now - timedelta(hours=2), config)
    world.enrol("cy", "Cy Twombly")
    world.publish("gate", "cy", now - timedelta(seconds=120))
    world.publish("lobby", "cy", now - timedelta(seconds=60))
    world.stitch()
    try:
        with facetrail_api(world.config_path) as base:
            yield world, base
    finally:
        world.close()


@pytest.fixture
def server(tmp_path):
    with serving_cy(tmp_path) as served:
        yield served


@pytest.fixture
def two_person_server(tmp_path):
    """The default two-person rule, a recent candidate of Cy's, and a second operator."""
    _chromium()
    now = datetime.now(timezone.utc)
    world = populated_world(tmp_path, now - timedelta(hours=2))
    world.enrol("cy", "Cy Twombly")
    event = world.publish("gate", "cy", now - timedelta(seconds=60))
    world.stitch()
    world.add_user("operator2", "operator")
    with facetrail_api(world.config_path) as base:
        yield world, base, event
    world.close()


def test_an_operator_sees_a_live_alert_its_track_on_the_plan_and_confirms_it(server):
    world, base = server
    with _browser() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        _sign_in(page, base, "operator1")

        event = world.publish("yard", "cy", datetime.now(timezone.utc) - timedelta(seconds=5))
        world.stitch()
        stitched_at = time.monotonic()
        page.wait_for_selector(f'.alert.new[data-event="{event.event_id}"]', timeout=5_000)
        card = page.locator(f'.alert[data-event="{event.event_id}"]')  # a locator: the list re-renders
        assert time.monotonic() - stitched_at < 3.0  # under a second to the browser; the rest is rendering the card
        assert "Cy Twombly" in card.inner_text() and "Yard" in card.inner_text()
        assert card.locator("img").count() == 2

        card.locator("button.track").click()
        path = page.wait_for_selector("#track-path", timeout=5_000)
        assert path.get_attribute("data-cameras") == "gate,lobby,yard"
        assert len(path.get_attribute("points").split()) == 3
        assert page.locator("#timeline li").count() == 3

        card.locator("button.confirm").click()
        page.wait_for_selector(f'[data-event="{event.event_id}"] .status:text-is("confirmed")', timeout=5_000)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard.png"))
    assert SightingStore(world.db).get(event.event_id).status == "confirmed"


def test_after_log_out_the_dashboard_stops_calling_the_api(server):
    _, base = server
    with _browser() as browser:
        page = browser.new_page()
        page.clock.install()
        _sign_in(page, base, "operator1")
        page.clock.run_for(6_000)  # one camera poll while signed in
        page.click("#logout")
        page.wait_for_selector("#login-view:not([hidden])")
        after: list[str] = []
        page.on("request", lambda request: after.append(f"{request.url} {request.headers.get('authorization')}"))
        page.clock.run_for(61_000)  # twelve polls' worth of time
        page.wait_for_timeout(500)
    assert [call for call in after if "/api/" in call] == []


def test_a_partly_confirmed_alert_says_how_many_have_confirmed_it(two_person_server):
    _, base, event = two_person_server
    token = httpx.post(base + "/api/v1/login", json={"username": "operator1", "password": PASSWORD}).json()["access_token"]
    first = httpx.post(f"{base}/api/v1/sightings/{event.event_id}/decision", json={"decision": "confirm"},
                       headers={"Authorization": f"Bearer {token}"}).json()
    assert (first["status"], first["confirmations"]) == ("candidate", 1)
    with _browser() as browser:
        page = browser.new_page()
        _sign_in(page, base, "operator2")
        status = page.wait_for_selector(f'[data-event="{event.event_id}"] .status', timeout=5_000)
        assert status.inner_text() == "candidate, 1/2 confirmations"
        page.click(f'[data-event="{event.event_id}"] button.confirm')
        page.wait_for_selector(f'[data-event="{event.event_id}"] .status:text-is("confirmed")', timeout=5_000)


def test_the_openapi_pages_render_every_operation_from_the_apps_own_assets(server):
    _, base = server
    operations = sum(len(methods) for methods in httpx.get(base + "/openapi.json").json()["paths"].values())
    with _browser() as browser:
        page = browser.new_page()
        loaded: list[str] = []  # what arrived; ReDoc's footer asks a CDN for its logo, which the CSP blocks
        page.on("response", lambda response: loaded.append(response.url))
        page.goto(base + "/docs")
        page.wait_for_selector(".opblock", timeout=15_000)
        assert page.locator(".opblock").count() == operations
        assert "POST/api/v1/login" in page.locator(".opblock").first.inner_text().replace("\n", "")
        page.goto(base + "/redoc")
        page.wait_for_selector('[data-section-id^="operation/"]', timeout=15_000)
        assert page.locator('[data-section-id^="operation/"]').count() == operations
    assert loaded and [url for url in loaded if not url.startswith((base, "blob:" + base))] == []
