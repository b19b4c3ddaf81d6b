"""The demo scenario through `facetrail reprocess`, as a user runs it."""

import pytest

from tests.e2e.conftest import facetrail, sightings_json, tracks_json

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def reprocessed(demo_scenario, make_site):
    config = make_site({c.id: str(c.clip) for c in demo_scenario.cameras})
    for camera in demo_scenario.cameras:
        facetrail("reprocess", str(camera.clip), "-c", str(config), "--camera", camera.id,
                  "--start", camera.starts_at.isoformat(), "--no-stitch")
    facetrail("trajectory", "-c", str(config), "--drain")
    return config


def test_each_enrolled_person_gets_one_track_in_the_exact_camera_order(demo_scenario, reprocessed):
    tracks = tracks_json(reprocessed)
    routes = {t["person"]: tuple(t["cameras"]) for t in tracks}
    assert routes == demo_scenario.expected_routes
    assert len(tracks) == len(demo_scenario.enrolled)
    assert all(t["plausible"] for t in tracks)


def test_passers_by_produce_no_sighting(demo_scenario, reprocessed):
    people = {s["person"] for s in sightings_json(reprocessed)}
    assert people == {p.display_name for p in demo_scenario.enrolled}


def test_reprocessing_the_same_files_again_duplicates_nothing(demo_scenario, reprocessed):
    before = sightings_json(reprocessed)
    for camera in demo_scenario.cameras:
        result = facetrail("reprocess", str(camera.clip), "-c", str(reprocessed), "--camera", camera.id,
                           "--start", camera.starts_at.isoformat(), "--again")
        assert "matched" in result.stdout
    assert sightings_json(reprocessed) == before
    assert {t["person"]: tuple(t["cameras"]) for t in tracks_json(reprocessed)} == demo_scenario.expected_routes


def test_a_completed_file_is_skipped_on_a_second_run(demo_scenario, reprocessed):
    camera = demo_scenario.cameras[0]
    result = facetrail("reprocess", str(camera.clip), "-c", str(reprocessed), "--camera", camera.id,
                       "--start", camera.starts_at.isoformat())
    assert "already reprocessed" in result.stdout
