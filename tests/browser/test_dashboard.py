"""The dashboard in a real browser (Debian's chromium): log in, a live alert arrives, its track is drawn, it is confirmed."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    _chromium()
    now = datetime.now(timezone.utc)
    world = populated_world(tmp_path, now - timedelta(hours=2), CONFIG)
    world.enrol("cy", "Cy Twombly")
    world.publish("gate", "cy", now - timedelta(seconds=120))
    world.publish("lobby", "cy", now - timedelta(seconds=60))
    world.stitch()
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "facetrail.cli.main", "api", "-c", str(world.config_path), "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"the API did not start: {process.stdout.read().decode()[-2000:]}")
            time.sleep(0.2)
    yield world, f"http://127.0.0.1:{port}"
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    world.close()


def test_an_operator_sees_a_live_alert_its_track_on_the_plan_and_confirms_it(server):
    playwright_api = pytest.importorskip("playwright.sync_api")
    world, base = server
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(base + "/")
            page.fill("#username", "operator1")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_selector("#live-state.live", timeout=10_000)

            event = world.publish("yard", "cy", datetime.now(timezone.utc) - timedelta(seconds=5))
            world.stitch()
            stitched_at = time.monotonic()
            card = page.wait_for_selector(f'.alert.new[data-event="{event.event_id}"]', timeout=5_000)
            assert time.monotonic() - stitched_at < 3.0  # under a second to the browser; the rest is rendering the card
            assert "Cy Twombly" in card.inner_text() and "Yard" in card.inner_text()
            assert card.query_selector_all("img") and len(card.query_selector_all("img")) == 2

            card.query_selector("button.track").click()
            path = page.wait_for_selector("#track-path", timeout=5_000)
            assert path.get_attribute("data-cameras") == "gate,lobby,yard"
            assert len(path.get_attribute("points").split()) == 3
            assert page.locator("#timeline li").count() == 3

            card.query_selector("button.confirm").click()
            page.wait_for_selector(f'[data-event="{event.event_id}"] .status:text-is("confirmed")', timeout=5_000)
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "dashboard.png"))
        finally:
            browser.close()
    assert SightingStore(world.db).get(event.event_id).status == "confirmed"
