"""Fixtures for the demo tests: the built scenario, a short real clip, RTSP servers."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from facetrail.demo.clips import render_clip
from facetrail.demo.scenario import Scenario, build_scenario
from rtsp_fixtures import rtsp_server  # noqa: F401  (the fixture, re-exported for these tests)

SHORT_CLIP_S = 2.0
SHORT_CLIP_FPS = 25


@pytest.fixture(scope="session")
def scenario(tmp_path_factory) -> Scenario:
    """The demo scenario, built once per session (photos come from the download cache)."""
    return build_scenario(tmp_path_factory.mktemp("demo-data"))


@pytest.fixture(scope="session")
def short_clip(tmp_path_factory) -> Path:
    """A 2 s, 320x180 H.264 clip from the real encoder, short enough to replay quickly."""
    path = tmp_path_factory.mktemp("clips") / "short.mp4"
    render_clip(path, camera_id="cam-x", starts_at=datetime(2026, 1, 1, 9, tzinfo=timezone.utc),
                duration_s=SHORT_CLIP_S, walks=[], width=320, height=180, fps=SHORT_CLIP_FPS, gop=25)
    return path
