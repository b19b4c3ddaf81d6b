"""Bad input: one clear message, no traceback, a non-zero exit, nothing stored lost."""

import pytest

from tests.e2e.conftest import facetrail, sightings_json

pytestmark = pytest.mark.e2e


def _no_traceback(result):
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    assert result.stderr.strip(), "a failure must say why"


@pytest.fixture(scope="module")
def site(demo_scenario, make_site):
    return make_site({c.id: str(c.clip) for c in demo_scenario.cameras})


@pytest.mark.parametrize("content, expected", [
    (None, "not found"),
    (b"this is not a video at all", "not a readable video"),
    (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64, "not a readable video"),
])
def test_a_bad_video_file_gets_one_clear_message(site, tmp_path, content, expected):
    video = tmp_path / "bad.mp4"
    if content is not None:
        video.write_bytes(content)
    result = facetrail("reprocess", str(video), "-c", str(site), "--camera", "cam-a", check=False)
    assert result.returncode != 0 and expected in result.stderr
    _no_traceback(result)


def test_a_truncated_video_is_reported_and_loses_nothing_stored(demo_scenario, site, tmp_path):
    camera = demo_scenario.cameras[0]
    facetrail("reprocess", str(camera.clip), "-c", str(site), "--camera", camera.id, "--start", camera.starts_at.isoformat())
    stored = sightings_json(site)
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(camera.clip.read_bytes()[:5000])
    result = facetrail("reprocess", str(truncated), "-c", str(site), "--camera", camera.id, check=False)
    _no_traceback(result)
    assert sightings_json(site) == stored


def test_an_unknown_camera_is_refused(site, demo_scenario):
    result = facetrail("reprocess", str(demo_scenario.cameras[0].clip), "-c", str(site), "--camera", "nope", check=False)
    assert result.returncode == 2 and "no camera with id 'nope'" in result.stderr
    _no_traceback(result)


def test_a_config_error_exits_2_naming_file_and_field(tmp_path):
    config = tmp_path / "broken.yaml"
    config.write_text("analysis: {fps: fast}\n")
    result = facetrail("tracks", "-c", str(config), check=False)
    assert result.returncode == 2 and str(config) in result.stderr and "analysis.fps" in result.stderr
    _no_traceback(result)


def test_an_unreachable_rtsp_camera_is_reported_while_the_others_run(tmp_path, demo_scenario, make_site):
    site = make_site({c.id: "rtsp://127.0.0.1:9/down" for c in demo_scenario.cameras})
    result = facetrail("run", "-c", str(site), "--duration", "6", check=False, timeout=60)
    assert result.returncode == 0
    _no_traceback(result) if result.stderr.strip() else None
    assert "cannot open stream rtsp://127.0.0.1:9/down" in result.stderr


def test_an_enrolment_photo_with_no_face_is_refused_and_others_are_kept(site, tmp_path, demo_scenario):
    import numpy as np
    import cv2

    folder = tmp_path / "more" / "Nobody"
    folder.mkdir(parents=True)
    cv2.imwrite(str(folder / "blank.jpg"), np.full((300, 300, 3), 128, np.uint8))
    before = facetrail("watchlist", "list", "-c", str(site), "--format", "json").stdout
    result = facetrail("watchlist", "import", str(tmp_path / "more"), "-c", str(site), "--legal-basis", "x", check=False)
    assert result.returncode == 1 and "no face" in result.stderr
    _no_traceback(result)
    assert facetrail("watchlist", "list", "-c", str(site), "--format", "json").stdout == before


def test_an_enrolment_photo_with_several_faces_is_refused(site, tmp_path, demo_scenario):
    import cv2
    import numpy as np

    photo = cv2.imread(str(next(p for p in demo_scenario.enrolled[0].enrolment_photos)))
    folder = tmp_path / "group" / "Two People"
    folder.mkdir(parents=True)
    cv2.imwrite(str(folder / "two.jpg"), np.hstack([photo, photo]))
    result = facetrail("watchlist", "import", str(tmp_path / "group"), "-c", str(site), "--legal-basis", "x", check=False)
    assert result.returncode == 1 and "faces" in result.stderr
    _no_traceback(result)


def test_an_empty_watch_list_warns_and_stores_nothing(tmp_path, demo_scenario):
    import yaml

    config = tmp_path / "empty.yaml"
    config.write_text(yaml.safe_dump({
        "cameras": [{"id": "cam-a", "name": "A", "source": str(demo_scenario.cameras[0].clip), "position": {"x": 0, "y": 0}}],
        "bus": {"kind": "sqlite", "path": str(tmp_path / "bus.db")},
        "database": {"url": f"sqlite:///{tmp_path / 'db.sqlite'}"},
        "objects": {"kind": "local", "path": str(tmp_path / "evidence")},
    }))
    result = facetrail("reprocess", str(demo_scenario.cameras[0].clip), "-c", str(config), "--camera", "cam-a")
    assert "watch-list is empty" in result.stderr
    assert sightings_json(config) == []
