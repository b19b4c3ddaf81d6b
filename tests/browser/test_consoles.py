"""Each role's console in a real browser (Debian's chromium) against a real `facetrail api`: one journey per role.

Each journey is done with the keyboard where the issue asks for it (the enrolment face picker,
confirm and reject), asserts what the page shows, saves a screenshot under test-artifacts/
(the README shows them), and runs axe-core on the page: no serious or critical violation.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest

from api.enrolment_photos import group_photo, jpeg_bytes
from api.world import PASSWORD
from browser.accessibility import serious_violations
from browser.test_dashboard import ARTIFACTS, _browser, serving_cy
from facetrail.audit.log import AuditLog

VIEWPORT = {"width": 1280, "height": 860}


@pytest.fixture
def server(tmp_path):
    """As the dashboard test's, with the default two-reviewer rule."""
    with serving_cy(tmp_path, config="") as served:
        yield served


def _sign_in(page, base: str, username: str, ready: str) -> None:
    page.goto(base + "/")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector(ready, timeout=10_000)


def _screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_an_enroller_picks_the_persons_face_in_a_group_photo_with_the_keyboard_and_saves_the_entry(server, tmp_path):
    world, base = server
    photo = tmp_path / "press-photo.jpg"
    photo.write_bytes(jpeg_bytes(group_photo()))
    with _browser() as browser:
        page = browser.new_page(viewport=VIEWPORT)
        _sign_in(page, base, "enroller1", "#people-table tbody tr[data-entry]")
        assert page.locator("#tabs").is_hidden() and page.locator("#app").is_hidden()
        page.fill("#enrol-name", "Barack Obama")
        page.fill("#enrol-basis", "case 2026/114")
        page.fill("#enrol-source", "press archive, photo 7")
        page.set_input_files("#enrol-photos", str(photo))
        page.wait_for_selector("button.face >> nth=1", timeout=60_000)
        assert page.locator("button.face[aria-pressed=true]").count() == 0  # two similar faces: the enroller decides
        assert "pick the person's face" in page.inner_text("#enrol-status")

        page.click("#enrol-save")
        assert "Pick the person's face in photo 1" in page.inner_text("#enrol-status")
        left = min(range(2), key=lambda i: page.locator("button.face").nth(i).bounding_box()["x"])
        page.locator("button.face").nth(left).focus()
        page.keyboard.press("Enter")
        assert page.locator("button.face[aria-pressed=true]").count() == 1
        _screenshot(page, "console-enroller.png")
        assert serious_violations(page) == []

        page.locator("#enrol-save").focus()
        page.keyboard.press("Enter")
        row = page.wait_for_selector('#people-table tr:has-text("Barack Obama")', timeout=30_000)
        assert "case 2026/114" in row.inner_text() and "enroller1" in row.inner_text() and "in 30 days" in row.inner_text()
        assert page.locator("#enrol-uploads li").count() == 0
        row.query_selector("button.show-photos").click()
        page.wait_for_selector('#people-table tr:has-text("Barack Obama") td.photos img')

        row.query_selector("button.extend").click()
        page.fill('#people-table tr:has-text("Barack Obama") input[type=number]', "60")
        page.fill('#people-table tr:has-text("Barack Obama") input[placeholder=reason]', "court order 2026/9")
        page.click('#people-table tr:has-text("Barack Obama") button[type=submit]')
        page.wait_for_selector('#people-table tr:has-text("Barack Obama") td.expiry:has-text("in 60 days")')

        page.click('#people-table tr:has-text("Cy Twombly") button.erase')
        page.click('#people-table tr:has-text("Cy Twombly") button.erase')
        page.wait_for_selector('#people-status:has-text("Cy Twombly erased")')
        assert page.locator('#people-table tr:has-text("Cy Twombly")').count() == 0
        page.click("#logout")
        page.wait_for_selector("#login-view:not([hidden])")
        assert page.locator("#people-table tbody tr").count() == 0 and page.locator("main img").count() == 0
    actions = [r.action for r in AuditLog(world.db).records() if r.actor == "enroller1"]
    assert {"watchlist.enrol", "watchlist.expiry", "watchlist.remove", "watchlist.photo.view"} <= set(actions)


def _as(base: str, username: str) -> dict[str, str]:
    token = httpx.post(base + "/api/v1/login", json={"username": username, "password": PASSWORD}).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def test_an_auditor_filters_the_log_verifies_the_chain_exports_it_and_sees_no_face(server):
    world, base = server
    httpx.get(base + "/api/v1/tracks", headers=_as(base, "operator1"))
    with _browser() as browser:
        page = browser.new_page(viewport=VIEWPORT)
        _sign_in(page, base, "auditor1", "#audit-table tbody tr[data-seq]")
        page.fill("#audit-action", "tracks")
        page.click("#audit-form button[type=submit]")
        page.wait_for_selector('#audit-range:has-text("records 1–1 of 1")')
        assert "operator1" in page.inner_text("#audit-table tbody") and "tracks.search" in page.inner_text("#audit-table tbody")

        page.click("#audit-verify")
        page.wait_for_selector('#audit-verdict:has-text("Chain intact")')
        with page.expect_download() as download:
            page.click("#audit-export")
        lines = Path(download.value.path()).read_text().splitlines()
        assert json.loads(lines[-1])["action"] == "audit.export"

        entries = page.inner_text("#audit-entries")
        assert "Cy Twombly" in entries and "case 2026/17" in entries
        assert page.locator("img").count() == 0  # auditors never see faces
        _screenshot(page, "console-auditor.png")
        assert serious_violations(page) == []


def test_an_operator_searches_tracks_opens_a_visits_evidence_and_reviews_the_queue_with_the_keyboard(server):
    world, base = server
    with _browser() as browser:
        page = browser.new_page(viewport=VIEWPORT)
        _sign_in(page, base, "operator1", "#live-state.live")
        page.wait_for_selector("#alert-list .alert")
        assert serious_violations(page) == []  # the live feed
        page.click('#tabs button[data-view="search-view"]')
        page.wait_for_selector('#search-person option:has-text("Cy Twombly")', state="attached")
        page.select_option("#search-person", label="Cy Twombly")
        page.select_option("#search-camera", label="Lobby")
        page.click("#search-form button[type=submit]")
        page.click("#search-results button")
        assert page.locator("#search-visits tbody tr").count() == 2
        page.click('#search-visits tr[data-camera="lobby"] button.evidence')
        page.wait_for_selector("#search-evidence img", timeout=5_000)
        assert "candidate" in page.inner_text("#search-evidence")
        _screenshot(page, "console-operator-search.png")
        assert serious_violations(page) == []

        page.click('#tabs button[data-view="review-view"]')
        page.wait_for_selector("#review-list .alert >> nth=1")
        assert "6 sightings waiting for a first reviewer" in page.inner_text("#review-status")  # Ada 3, Bob 1, Cy 2
        first, second = page.locator("#review-list .alert").all()[:2]
        first.locator("button.confirm").focus()
        page.keyboard.press("Enter")
        first.locator('.status:text-is("candidate, 1/2 confirmations")').wait_for()
        second.locator("button.reject").focus()
        page.keyboard.press("Space")
        second.locator('.status:text-is("rejected")').wait_for()

        page.select_option("#review-filter", "second")
        page.click("#review-form button[type=submit]")
        page.wait_for_selector('#review-status:has-text("1 sighting waiting for a second reviewer")')
        assert "1/2 confirmations" in page.inner_text("#review-list")
        page.locator("#review-list .alert button.track").first.click()  # its track, drawn on the live plan
        page.wait_for_selector("#track-path", state="attached")
        assert page.locator("#app").is_visible()
        page.click('#tabs button[data-view="review-view"]')
        _screenshot(page, "console-operator-review.png")
        assert serious_violations(page) == []


def test_an_admin_adds_and_disables_users_resets_a_password_and_puts_the_site_plan_under_the_cameras(server, tmp_path):
    world, base = server
    plan = tmp_path / "plan.png"
    image = np.full((360, 640, 3), 245, np.uint8)
    cv2.rectangle(image, (30, 30), (610, 330), (60, 60, 60), 4)
    cv2.line(image, (320, 30), (320, 200), (60, 60, 60), 3)
    plan.write_bytes(cv2.imencode(".png", image)[1].tobytes())
    for _ in range(5):  # someone guessing at the auditor's password
        httpx.post(base + "/api/v1/login", json={"username": "auditor1", "password": "not the password at all"})
    with _browser() as browser:
        page = browser.new_page(viewport=VIEWPORT)
        _sign_in(page, base, "admin1", "#live-state.live")
        page.click('#tabs button[data-view="admin-view"]')
        page.wait_for_selector('#users-table tr[data-user="operator1"]')
        assert "locked out until" in page.inner_text('#users-table tr[data-user="auditor1"] td.state')

        page.fill("#user-name", "dora")
        page.select_option("#user-role", "enroller")
        page.fill("#user-password", "violet tractor seventeen lanterns")
        page.click("#user-form button[type=submit]")
        page.wait_for_selector('#users-table tr[data-user="dora"]')
        assert "enroller" in page.inner_text('#users-table tr[data-user="dora"]')

        page.click('#users-table tr[data-user="operator1"] button.toggle')
        page.wait_for_selector('#users-table tr[data-user="operator1"] td.state:text-is("disabled")')
        page.click('#users-table tr[data-user="enroller1"] button.reset')
        page.fill('#users-table tr[data-user="enroller1"] input[type=password]', "password1234")
        page.click('#users-table tr[data-user="enroller1"] button[type=submit]')
        page.wait_for_selector('#admin-status.error:has-text("too easy to guess")')
        page.fill('#users-table tr[data-user="enroller1"] input[type=password]', "amber glacier quietly forty owls")
        page.click('#users-table tr[data-user="enroller1"] button[type=submit]')
        page.wait_for_selector('#admin-status:has-text("Password of enroller1 reset")')

        page.fill("#plan-width-m", "100")
        page.fill("#plan-height-m", "60")
        page.set_input_files("#plan-file", str(plan))
        page.wait_for_selector("#plan-preview img")
        assert page.locator('#cameras-table tr[data-camera="lobby"]').inner_text().split("\t")[2:4] == ["40", "10"]
        _screenshot(page, "console-admin.png")
        assert serious_violations(page) == []

        page.click('#tabs button[data-view="app"]')
        page.wait_for_selector("#plan #plan-image", state="attached")
        assert page.evaluate("document.querySelector('#plan').firstElementChild.id") == "plan-image"  # under the markers
        lobby = page.locator('#plan g.cam[data-camera="lobby"] circle')  # (40 m, 10 m) on a 640x360 plan of 100x60 m
        assert (float(lobby.get_attribute("cx")), float(lobby.get_attribute("cy"))) == (256, 60)
        _screenshot(page, "console-admin-plan.png")
    assert httpx.post(base + "/api/v1/login", json={"username": "operator1", "password": PASSWORD}).status_code == 401
    assert httpx.post(base + "/api/v1/login", json={"username": "dora", "password": "violet tractor seventeen lanterns"}).is_success
