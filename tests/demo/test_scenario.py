"""The built demo scenario: real clips, a loadable config, the watch-list photos and a true ground truth."""

from __future__ import annotations

import math
import time
from datetime import timedelta

import av
import numpy as np
import pytest

from facetrail.config import load_config
from facetrail.demo.scenario import CLIP_S, FPS, HEIGHT, MATCH_THRESHOLD, WIDTH, build_scenario, main
from facetrail.demo.sprites import embedding, load_rgb


def _decode(path):
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [(float(f.pts * stream.time_base), f) for f in container.decode(stream)]
        return stream.codec_context.name, container.metadata, frames


def test_each_clip_is_h264_at_the_scenario_size_rate_and_length(scenario):
    for camera in scenario.cameras:
        codec, _, frames = _decode(camera.clip)
        assert codec == "h264"
        assert len(frames) == int(CLIP_S * FPS)
        assert {(f.width, f.height) for _, f in frames} == {(WIDTH, HEIGHT)}
        assert frames[-1][0] == pytest.approx(CLIP_S - 1 / FPS)


def test_each_clip_records_its_wall_clock_start(scenario):
    for camera in scenario.cameras:
        _, metadata, _ = _decode(camera.clip)
        assert metadata["creation_time"].startswith(camera.starts_at.strftime("%Y-%m-%dT%H:%M:%S"))


def test_the_config_loads_with_every_camera_pointing_at_its_clip(scenario):
    config = load_config(scenario.config_path)
    assert [c.id for c in config.cameras] == ["cam-a", "cam-b", "cam-c"]
    for configured, camera in zip(config.cameras, scenario.cameras):
        assert configured.source == str(camera.clip)
        assert (configured.position.x, configured.position.y) == (camera.x, camera.y)
    assert config.analysis.detector.backend == "auto" and config.analysis.embedder.backend == "auto"
    assert config.bus.path == scenario.root / "var" / "bus.db"
    assert config.objects.path == scenario.root / "var" / "evidence"
    assert config.database.url == f"sqlite:///{scenario.root / 'var' / 'facetrail.db'}"


def test_the_watchlist_folder_holds_one_folder_per_enrolled_person_with_their_photos(scenario):
    folders = {p.name: sorted(f.name for f in p.iterdir()) for p in scenario.watchlist_dir.iterdir()}
    assert folders == {"Barack Obama": ["obama.jpg", "obama3.jpg"], "Joe Biden": ["biden.jpg"]}


def test_obamas_clip_face_comes_from_a_photo_not_used_to_enrol_him(scenario):
    obama = next(p for p in scenario.people if p.display_name == "Barack Obama")
    assert obama.clip_photo_is_unseen


def test_the_expected_routes_follow_wall_clock_order(scenario):
    assert scenario.expected_routes == {"Barack Obama": ("cam-a", "cam-b", "cam-c"), "Joe Biden": ("cam-c", "cam-b")}


def test_every_pass_lies_inside_its_cameras_clip_with_time_to_leave(scenario):
    for walk in scenario.passes:
        camera = scenario.camera(walk.camera_id)
        assert camera.starts_at <= walk.starts_at
        assert walk.ends_at + timedelta(seconds=1.5) <= camera.starts_at + timedelta(seconds=camera.duration_s)


def test_implied_walking_speeds_between_cameras_are_plausible(scenario):
    for person in scenario.people:
        mine = sorted((p for p in scenario.passes if p.person == person.display_name), key=lambda p: p.starts_at)
        for before, after in zip(mine, mine[1:]):
            a, b = scenario.camera(before.camera_id), scenario.camera(after.camera_id)
            seconds = (after.starts_at - before.starts_at).total_seconds()
            assert 0.8 <= math.dist((a.x, a.y), (b.x, b.y)) / seconds <= 2.5, (person.display_name, a.id, b.id)


def test_every_pass_shows_its_person_and_no_passer_by_matches_an_enrolled_person(scenario):
    references = {
        person.display_name: [embedding(load_rgb(photo)) for photo in person.enrolment_photos]
        for person in scenario.enrolled
    }
    decoded = {camera.id: _decode(camera.clip)[2] for camera in scenario.cameras}
    for walk in scenario.passes:
        camera = scenario.camera(walk.camera_id)
        # Mid-pass the whole face is in view; take that frame of the real clip.
        middle = (walk.starts_at - camera.starts_at).total_seconds() + (walk.ends_at - walk.starts_at).total_seconds() / 2
        frames = decoded[camera.id]
        frame = min(frames, key=lambda item: abs(item[0] - middle))[1].to_ndarray(format="rgb24")
        seen = embedding(frame, upsample=1)
        assert seen is not None, f"no face in {camera.id} at {middle:.1f} s"
        distances = {name: min(float(np.linalg.norm(r - seen)) for r in refs) for name, refs in references.items()}
        nearest = min(distances, key=distances.get)
        if walk.enrolled:
            assert nearest == walk.person and distances[nearest] < MATCH_THRESHOLD, (walk, distances)
        else:
            assert distances[nearest] >= MATCH_THRESHOLD, (walk, distances)


def test_a_second_build_reuses_the_first_without_touching_its_files(scenario):
    before = {c.clip: c.clip.stat().st_mtime_ns for c in scenario.cameras}
    began = time.monotonic()
    again = build_scenario(scenario.root)
    assert time.monotonic() - began < 1.0
    assert again == scenario
    assert {c.clip: c.clip.stat().st_mtime_ns for c in again.cameras} == before


def test_the_command_line_prints_each_enrolled_persons_route(scenario, capsys):
    assert main([str(scenario.root)]) == 0
    out = capsys.readouterr().out
    assert "Barack Obama: cam-a -> cam-b -> cam-c" in out
    assert "Joe Biden: cam-c -> cam-b" in out


def test_the_command_line_without_a_folder_prints_its_usage(capsys):
    assert main([]) == 2
    assert "usage: python -m facetrail.demo.scenario OUT_DIR" in capsys.readouterr().err
