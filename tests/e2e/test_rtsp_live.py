"""The demo scenario played by real RTSP cameras (GStreamer's server) through `facetrail run`."""

import pytest

from tests.e2e.conftest import facetrail, sightings_json, tracks_json

pytestmark = pytest.mark.e2e

# Each mount plays once (a reconnect finds the camera gone), so each walk is seen once.


def test_live_rtsp_cameras_give_each_enrolled_person_the_scenario_camera_order(demo_scenario, make_site, rtsp_server):
    base = rtsp_server({c.id: c.clip for c in demo_scenario.cameras}, once=True)
    site = make_site({c.id: f"{base}/{c.id}" for c in demo_scenario.cameras})
    facetrail("run", "-c", str(site), "--duration", "30", timeout=120)
    tracks = tracks_json(site)
    assert {t["person"]: tuple(t["cameras"]) for t in tracks} == demo_scenario.expected_routes
    assert len(tracks) == len(demo_scenario.enrolled)
    people = {s["person"] for s in sightings_json(site)}
    assert people == {p.display_name for p in demo_scenario.enrolled}
