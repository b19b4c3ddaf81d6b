"""`facetrail search-archive` and `facetrail jobs` as an operator uses them, on the embedded database."""

from __future__ import annotations

import json
import re

import pytest

from tests.archive.conftest import START, facetrail, named_sightings, write_site

pytestmark = pytest.mark.e2e


@pytest.fixture
def site(demo_scenario, tmp_path):
    return write_site(tmp_path / "site", demo_scenario, enrol=False)


@pytest.mark.parametrize("reference", [None, "", "   "])
def test_a_search_without_an_authorisation_reference_is_refused(site, clips, reference):
    args = [] if reference is None else ["--authorisation", reference]
    result = facetrail("search-archive", "-c", str(site), "--camera", "cam-b", *args, *clips, check=False)
    assert result.returncode == 1 and "needs --authorisation" in result.stderr
    assert json.loads(facetrail("jobs", "list", "-c", str(site), "--format", "json").stdout) == []


def test_a_missing_or_corrupt_recording_fails_its_segments_with_the_reason_not_the_job(site, clips, tmp_path):
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 500)
    made = facetrail("search-archive", "-c", str(site), "--camera", "cam-b", "--authorisation", "case 9",
                     "--start", START, "--work", clips[0], str(corrupt), str(tmp_path / "gone.mp4"))
    job_id = re.search(r"job ([0-9a-f]{16})", made.stdout).group(1)  # type: ignore[union-attr]
    job = json.loads(facetrail("jobs", "show", job_id, "-c", str(site), "--format", "json").stdout)
    assert job["state"] == "failed" and job["segments_done"] == job["segments_total"] - 2
    errors = sorted(s["error"] for s in job["failed_segments"])
    assert errors[0].startswith("not a readable video file") and errors[1].startswith("video file not found"), errors
    assert all(s["attempts"] == 1 for s in job["failed_segments"])  # a bad file is not tried again


def test_jobs_cancel_and_retry_are_audited_with_the_operator_and_the_start_with_files_by_sha256(site, clips, tmp_path):
    made = facetrail("search-archive", "-c", str(site), "--camera", "cam-b", "--authorisation", "warrant 12", *clips[:1])
    job_id = re.search(r"job ([0-9a-f]{16})", made.stdout).group(1)  # type: ignore[union-attr]
    facetrail("jobs", "cancel", job_id, "-c", str(site))
    assert json.loads(facetrail("jobs", "show", job_id, "-c", str(site), "--format", "json").stdout)["state"] == "cancelled"
    facetrail("jobs", "retry", job_id, "-c", str(site))
    export = tmp_path / "audit.jsonl"
    facetrail("audit", "export", "-c", str(site), "--output", str(export))
    records = [json.loads(line) for line in export.read_text().splitlines()]
    actions = {r["action"]: r for r in records if r["action"].startswith("archive.")}
    assert set(actions) == {"archive.start", "archive.cancel", "archive.retry"}
    start = actions["archive.start"]["details"]
    assert start["authorisation"] == "warrant 12" and start["watchlist_version"]
    assert [f["sha256"] for f in start["files"]] == [__import__("hashlib").sha256(open(clips[0], "rb").read()).hexdigest()]
    assert clips[0] not in export.read_text()  # files by content, never by name


def test_a_search_limited_to_a_time_range_stores_only_the_passes_that_began_in_it(demo_scenario, clips, reprocessed,
                                                                                    tmp_path):
    site = write_site(tmp_path / "enrolled", demo_scenario)
    facetrail("search-archive", "-c", str(site), "--camera", "cam-b", "--authorisation", "warrant 5", "--start", START,
              "--since", "2026-03-01T12:00:05Z", "--until", "2026-03-01T12:00:30Z", "--work", *clips)
    facetrail("trajectory", "-c", str(site), "--drain")
    expected = [s for s in reprocessed if "2026-03-01T12:00:05" <= s[2] < "2026-03-01T12:00:30"]
    assert named_sightings(site) == expected and expected
