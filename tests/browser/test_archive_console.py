"""The operators' archive-jobs console in a real browser (Debian's chromium) against a real `facetrail api`."""

from __future__ import annotations

import pytest

from api.test_archive_jobs import running_job
from browser.test_consoles import _checked, _page, _sign_in
from browser.test_dashboard import _browser, serving_cy


@pytest.fixture
def server(tmp_path):
    with serving_cy(tmp_path, config="") as served:
        yield served


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_an_operator_sees_an_archive_jobs_progress_per_camera_its_failed_segment_and_cancels_it(server, size):
    world, base = server
    _, job_id = running_job(world.db)
    with _browser() as browser:
        page = _page(browser, size)
        _sign_in(page, base, "operator1", "#live-state.live")
        page.click('#tabs button[data-view="archive-view"]')
        page.wait_for_selector('#archive-cameras tr[data-camera="gate"]')
        camera = page.inner_text('#archive-cameras tr[data-camera="gate"]')
        assert "50.0 %" in camera and "0:00:30 of 0:01:00" in camera
        job = page.inner_text(f'#archive-jobs tr[data-job="{job_id}"]')
        assert "running" in job and "1/3 done, 1 running, 1 failed" in job and "warrant 2026/114" in job
        assert "damaged or truncated" in page.inner_text("#archive-failed")
        _checked(page, "console-operator-archive.png", size)
        page.click(f'#archive-jobs tr[data-job="{job_id}"] button.cancel')
        page.wait_for_selector(f'#archive-jobs tr[data-job="{job_id}"] td.state:has-text("cancelled")')
        assert "cancelled (1 segment(s))" in page.inner_text("#archive-status")
