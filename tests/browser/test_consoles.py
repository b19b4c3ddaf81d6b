"""Each role's console in a real browser (Debian's chromium) against a real `facetrail api`: one journey per role.

Each journey runs at a desktop (1366x900) and a phone (390x844) size, the operator's also at 200 % zoom
(a 1366x900 window at 200 %: 683x450 CSS px); it is done with the keyboard where the issue asks for it
(the enrolment face picker, confirm and reject), asserts what the page shows, checks that nothing needs
sideways scrolling (WCAG 1.4.10 reflow), saves a screenshot under test-artifacts/ (the README shows
them), and runs axe-core on the page: no serious or critical violation.
"""

from __future__ import annotations

import hashlib
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

DESKTOP = {"viewport": {"width": 1366, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True, "has_touch": True}
ZOOM_200 = {"viewport": {"width": 683, "height": 450}, "device_scale_factor": 2}
SIZES = {"desktop": DESKTOP, "phone": PHONE}


@pytest.fixture(params=["desktop", "phone"])
def size(request):
    return request.param


def _page(browser, size: str):
    return browser.new_page(**({**SIZES, "zoom200": ZOOM_200}[size]))


def _checked(page, name: str, size: str) -> None:
    """Reflows without sideways scrolling, a screenshot for the README, and no serious axe violation."""
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{name} at {size}: the page is {overflow} px wider than the window"
    _screenshot(page, name if size == "desktop" else name.replace(".png", f"-{size}.png"))
    assert serious_violations(page) == []


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


def test_an_enroller_picks_the_persons_face_in_a_group_photo_with_the_keyboard_and_saves_the_entry(server, tmp_path, size):
    world, base = server
    photo = tmp_path / "press-photo.jpg"
    photo.write_bytes(jpeg_bytes(group_photo()))
    with _browser() as browser:
        page = _page(browser, size)
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
        _checked(page, "console-enroller.png", size)

        page.locator("#enrol-save").focus()
        page.keyboard.press("Enter")
        row = page.locator('#people-table tr:has-text("Barack Obama")')  # a locator: the table re-renders
        row.wait_for(timeout=30_000)
        assert "case 2026/114" in row.inner_text() and "enroller1" in row.inner_text() and "in 30 days" in row.inner_text()
        assert page.locator("#enrol-uploads li").count() == 0
        row.locator("button.show-photos").click()
        page.wait_for_selector('#people-table tr:has-text("Barack Obama") td.photos img')

        row.locator("button.add-photos").click()  # a second photo for the entry that exists
        assert page.locator("#enrol-name").is_hidden() and "Adding photos to Barack Obama" in page.inner_text("#enrol-target")
        page.set_input_files("#enrol-photos", str(photo))
        page.wait_for_selector("#enrol-uploads button.face >> nth=1", timeout=60_000)
        page.locator("#enrol-uploads button.face").nth(left).click()
        page.click("#enrol-save")
        page.wait_for_selector('#enrol-status:has-text("1 photo added to Barack Obama (now 2)")', timeout=30_000)
        row.locator("button.extend").click()
        days = page.locator('#people-table tr:has-text("Barack Obama") input[type=number]')
        assert days.input_value() == "60"  # what is left (30) plus 30: never a shorter expiry by default
        page.get_by_label("Expires in (days from today; now 30)").fill("60")
        page.fill('#people-table tr:has-text("Barack Obama") input[placeholder=reason]', "court order 2026/9")
        page.click('#people-table tr:has-text("Barack Obama") button[type=submit]')
        page.wait_for_selector('#people-table tr:has-text("Barack Obama") td.expiry:has-text("in 60 days")')

        page.click('#people-table tr:has-text("Cy Twombly") button.erase')
        page.fill('#people-table tr:has-text("Cy Twombly") input.erase-reason', "case closed 2026/31")
        _checked(page, "console-enroller-entries.png", size)
        page.click('#people-table tr:has-text("Cy Twombly") button.erase')
        page.wait_for_selector('#people-status:has-text("Cy Twombly erased")')
        assert page.locator('#people-table tr:has-text("Cy Twombly")').count() == 0
        page.click("#logout")
        page.wait_for_selector("#login-view:not([hidden])")
        assert page.locator("#people-table tbody tr").count() == 0 and page.locator("main img").count() == 0
    actions = [r.action for r in AuditLog(world.db).records() if r.actor == "enroller1"]
    assert {"watchlist.enrol", "watchlist.expiry", "watchlist.remove", "watchlist.photo.view"} <= set(actions)
    [erased] = [r for r in AuditLog(world.db).records() if r.action == "watchlist.remove"]
    assert erased.details["reason_sha256"] == hashlib.sha256(b"case closed 2026/31").hexdigest()


def _as(base: str, username: str) -> dict[str, str]:
    token = httpx.post(base + "/api/v1/login", json={"username": username, "password": PASSWORD}).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def test_an_auditor_finds_a_person_filters_the_log_verifies_the_chain_exports_it_and_sees_no_face(server, size):
    world, base = server
    operator = _as(base, "operator1")
    httpx.get(base + "/api/v1/tracks", headers=operator)
    enroller = _as(base, "enroller1")
    people = httpx.get(base + "/api/v1/people", headers=enroller).json()["items"]
    ada = next(p for p in people if p["display_name"].startswith("Ada"))
    httpx.delete(f"{base}/api/v1/people/{ada['entry_id']}", headers=enroller, params={"reason": "case closed"})
    httpx.get(f"{base}/api/v1/people/cy", headers=enroller)  # a record whose object is Cy's entry
    with _browser() as browser:
        page = _page(browser, size)
        _sign_in(page, base, "auditor1", "#audit-table tbody tr[data-seq]")
        assert page.locator("#audit-table tr.read-group").count() >= 1  # a page view's reads are one row
        page.fill("#lookup-q", "TWOMB")
        page.click("#lookup-form button[type=submit]")
        row = page.locator('#lookup-table tr:has-text("Cy Twombly")')
        row.wait_for()
        assert "current, enrolled on" in row.inner_text()
        row.locator("button.records").click()
        page.wait_for_selector('#audit-table td:has-text("Cy Twombly")')
        page.fill("#lookup-q", ada["entry_id"][:8])
        page.click("#lookup-form button[type=submit]")
        erased = page.locator(f'#lookup-table tr[data-entry="{ada["entry_id"]}"]')
        erased.wait_for()
        assert "erased on" in erased.inner_text() and "Ada" not in erased.inner_text()
        page.fill("#audit-subject", "")
        page.fill("#audit-actor", "OPERATOR")  # the start of the name, any case
        page.fill("#audit-action", "tracks")
        page.click("#audit-form button[type=submit]")
        page.wait_for_selector('#audit-table td:has-text("tracks.search")')  # the subject filter's page was 1 record too
        assert page.inner_text("#audit-range") == "records 1–1 of 1, newest first"
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
        _checked(page, "console-auditor.png", size)


@pytest.mark.parametrize("operator_size", ["desktop", "phone", "zoom200"])
def test_an_operator_searches_tracks_opens_a_visits_evidence_and_reviews_the_queue_with_the_keyboard(server, operator_size):
    world, base = server
    size = operator_size
    with _browser() as browser:
        page = _page(browser, size)
        _sign_in(page, base, "operator1", "#live-state.live")
        card = page.locator("#alert-list .alert").first
        card.wait_for()
        assert page.locator('[role=log][aria-live=polite] #alert-list').count() == 1
        assert "Seen" in card.inner_text() and "Enrolled" in card.inner_text()
        assert "accepted below" in card.locator(".match").inner_text()
        assert "keeps a \"not this person\" example" in card.locator("button.reject").inner_text()
        card.locator("button.enlarge").click()
        assert page.locator("#large[open] figure").count() == 2
        _checked(page, "console-operator-evidence.png", size)
        page.keyboard.press("Escape")
        assert page.locator("#large[open]").count() == 0
        _checked(page, "console-operator-live.png", size)
        page.click('#tabs button[data-view="search-view"]')
        page.wait_for_selector('#search-person option:has-text("Cy Twombly")', state="attached")
        page.select_option("#search-person", label="Cy Twombly")
        page.select_option("#search-camera", label="Lobby")
        page.click("#search-form button[type=submit]")
        page.wait_for_selector("#search-plan #search-plan-path", state="attached")  # one track: drawn at once
        assert page.locator("#search-visits tbody tr").count() == 2
        page.click('#search-visits tr[data-camera="lobby"] button.evidence')
        page.wait_for_selector("#search-evidence img", timeout=5_000)
        assert "candidate" in page.inner_text("#search-evidence")
        _checked(page, "console-operator-search.png", size)
        page.fill("#search-since", "2099-01-01T10:00")
        page.click("#search-form button[type=submit]")
        page.wait_for_selector('#search-status.error:has-text("From is in the future")')
        assert page.locator("#search-results li").count() == 0  # the previous result does not linger

        page.click('#tabs button[data-view="review-view"]')
        page.wait_for_selector("#review-list .alert >> nth=1")
        assert "6 sightings waiting for a first reviewer" in page.inner_text("#review-status")  # Ada 3, Bob 1, Cy 2
        # by sighting, not position: a decided card leaves the list it no longer belongs to
        first, second = (page.locator(f'#review-list li.alert[data-event="{card.get_attribute("data-event")}"]')
                         for card in page.locator("#review-list .alert").all()[:2])
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
        _checked(page, "console-operator-review.png", size)


def test_an_admin_adds_and_disables_users_resets_a_password_and_puts_the_site_plan_under_the_cameras(server, tmp_path, size):
    world, base = server
    plan = tmp_path / "plan.png"
    image = np.full((360, 640, 3), 245, np.uint8)
    cv2.rectangle(image, (30, 30), (610, 330), (60, 60, 60), 4)
    cv2.line(image, (320, 30), (320, 200), (60, 60, 60), 3)
    plan.write_bytes(cv2.imencode(".png", image)[1].tobytes())
    for _ in range(5):  # someone guessing at the auditor's password
        httpx.post(base + "/api/v1/login", json={"username": "auditor1", "password": "not the password at all"})
    with _browser() as browser:
        page = _page(browser, size)
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
        assert "Really disable operator1" in page.inner_text('#users-table tr[data-user="operator1"] button.toggle')
        page.click('#users-table tr[data-user="operator1"] button.toggle')
        page.wait_for_selector('#users-table tr[data-user="operator1"] td.state:text-is("disabled")')
        page.click('#users-table tr[data-user="enroller1"] button.reset')
        page.fill('#users-table tr[data-user="enroller1"] input[type=password]', "password1234")
        page.click('#users-table tr[data-user="enroller1"] button[type=submit]')
        page.wait_for_selector('#admin-status.error:has-text("too easy to guess")')
        page.fill('#users-table tr[data-user="enroller1"] input[type=password]', "amber glacier quietly forty owls")
        page.click('#users-table tr[data-user="enroller1"] button[type=submit]')
        page.wait_for_selector('#admin-status:has-text("Password of enroller1 reset")')

        page.set_input_files("#plan-file", str(plan))  # before its dimensions: said, not silently dropped
        page.wait_for_selector('#admin-status.error:has-text("Give the metres the plan spans first")')
        page.fill("#plan-width-m", "100")
        page.fill("#plan-height-m", "60")
        page.set_input_files("#plan-file", str(plan))
        page.wait_for_selector("#preview-plan #preview-plan-image", state="attached")
        assert page.locator("#preview-plan g.cam").count() == 3 and "spans 100 × 60 m" in page.inner_text("#plan-preview")
        assert page.locator('#cameras-table tr[data-camera="lobby"] td').all_inner_texts()[2:4] == ["40", "10"]
        _checked(page, "console-admin.png", size)

        page.click('#tabs button[data-view="app"]')
        page.wait_for_selector("#plan #plan-image", state="attached")
        assert page.evaluate("document.querySelector('#plan').firstElementChild.id") == "plan-image"  # under the markers
        lobby = page.locator('#plan g.cam[data-camera="lobby"] circle')  # (40 m, 10 m) on a 640x360 plan of 100x60 m
        assert (float(lobby.get_attribute("cx")), float(lobby.get_attribute("cy"))) == (256, 60)
        _screenshot(page, "console-admin-plan.png")
    assert httpx.post(base + "/api/v1/login", json={"username": "operator1", "password": PASSWORD}).status_code == 401
    assert httpx.post(base + "/api/v1/login", json={"username": "dora", "password": "violet tractor seventeen lanterns"}).is_success


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_two_operators_see_each_others_decisions_live_with_who_decided(server, size):
    """Both on the review queue: one's confirmation moves the card out of the other's list and names who confirmed;
    the second confirmation reaches the first operator's live feed, whose buttons are then disabled."""
    world, base = server
    world.add_user("operator2", "operator")
    with _browser() as browser:
        first, second = _page(browser, size), _page(browser, size)
        _sign_in(first, base, "operator1", "#live-state.live")
        _sign_in(second, base, "operator2", "#live-state.live")
        for page in (first, second):
            page.click('#tabs button[data-view="review-view"]')
            page.wait_for_selector("#review-list .alert >> nth=1")
        event_id = first.locator("#review-list .alert").first.get_attribute("data-event")
        card = f'#review-list li.alert[data-event="{event_id}"]'

        first.locator(f"{card} button.confirm").focus()
        first.keyboard.press("Enter")
        first.locator(f'{card} .status:text-is("candidate, 1/2 confirmations")').wait_for()
        assert first.locator(f"{card} button.confirm").is_disabled()  # the same person cannot confirm twice
        # pushed to the other console: who decided, and the card leaves "waiting for a first reviewer"
        second.wait_for_selector(f'{card} .decided:has-text("confirmed by operator1")', timeout=5_000)
        second.wait_for_selector('#review-status:has-text("decided by operator1; it now waits for a second reviewer")')
        _checked(second, "console-two-operators.png", size)
        second.wait_for_selector(card, state="detached", timeout=10_000)

        first.click('#tabs button[data-view="app"]')
        live_card = f'#alert-list li.alert[data-event="{event_id}"]'
        first.wait_for_selector(live_card)
        second.select_option("#review-filter", "second")
        second.click("#review-form button[type=submit]")
        second.locator(f"{card} button.confirm").click()
        second.locator(f'{card} .status:text-is("confirmed")').wait_for()
        first.wait_for_selector(f'{live_card} .status:text-is("confirmed")', timeout=5_000)
        assert "confirmed by operator1" in first.inner_text(f"{live_card} .decided")
        assert "confirmed by operator2" in first.inner_text(f"{live_card} .decided")
        assert first.locator(f"{live_card} button.confirm").is_disabled() and first.locator(f"{live_card} button.reject").is_disabled()

        # a card another console settled meanwhile: its buttons are off before anyone can act on it
        other = first.locator("#alert-list li.alert:not(.settled)").first.get_attribute("data-event")
        second.select_option("#review-filter", "first")
        second.click("#review-form button[type=submit]")
        second.locator(f'#review-list li.alert[data-event="{other}"] button.reject').click()
        first.wait_for_selector(f'#alert-list li.alert[data-event="{other}"] .status:text-is("rejected")', timeout=30_000)  # a reject embeds its example first
        assert first.locator(f'#alert-list li.alert[data-event="{other}"] button.confirm').is_disabled()
        assert "rejected by operator2" in first.inner_text(f'#alert-list li.alert[data-event="{other}"] .decided')


def test_an_enrolment_half_done_when_the_session_ends_comes_back_after_signing_in_again(server, tmp_path):
    _, base = server
    photo = tmp_path / "press-photo.jpg"
    photo.write_bytes(jpeg_bytes(group_photo()))
    with _browser() as browser:
        page = _page(browser, "desktop")
        _sign_in(page, base, "enroller1", "#people-table tbody tr[data-entry]")
        page.fill("#enrol-name", "Barack Obama")
        page.fill("#enrol-basis", "case 2026/114")
        page.set_input_files("#enrol-photos", str(photo))
        page.wait_for_selector("button.face >> nth=1", timeout=60_000)
        token = page.evaluate("sessionStorage.getItem('facetrail-token')")
        httpx.post(base + "/api/v1/logout", headers={"Authorization": f"Bearer {token}"})  # the session ends elsewhere
        page.fill("#enrol-source", "press archive, photo 7")
        page.locator("button.face").first.click()
        page.click("#enrol-save")
        page.wait_for_selector("#login-view:not([hidden])")
        assert "Your session ended" in page.inner_text("#login-error")
        assert page.locator("main img").count() == 0  # nothing of the session stays on show while signed out
        page.fill("#username", "enroller1")  # on the same page: its memory holds the unsaved work
        page.fill("#password", PASSWORD)
        page.click("#login-form button[type=submit]")
        page.wait_for_selector("#enrol-uploads li", timeout=10_000)
        assert page.input_value("#enrol-name") == "Barack Obama" and page.input_value("#enrol-source") == "press archive, photo 7"
        assert "unsaved entry and its photos are back" in page.inner_text("#enrol-status")
        assert page.locator("button.face[aria-pressed=true]").count() == 1  # the face picked before stays picked
        page.click("#enrol-save")
        page.wait_for_selector('#people-table tr:has-text("Barack Obama")', timeout=30_000)
