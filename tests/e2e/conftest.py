"""End-to-end fixtures: the demo scenario and a private config pointing at it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from facetrail.demo.scenario import Scenario, build_scenario
from rtsp_fixtures import rtsp_server  # noqa: F401  (fixture)

REPO = Path(__file__).resolve().parents[2]
LEGAL_BASIS = "end-to-end test"


@pytest.fixture(scope="session")
def demo_scenario() -> Scenario:
    # Built into the ignored cache so later runs reuse the clips (the build checks its own stamp).
    return build_scenario(REPO / ".cache" / "test-scenario")


def facetrail(*args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    result = subprocess.run([sys.executable, "-m", "facetrail.cli.main", *args], capture_output=True, text=True,
                            timeout=timeout, env=env, cwd=REPO)
    if check and result.returncode != 0:
        raise AssertionError(f"facetrail {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def make_site(tmp_path_factory, demo_scenario):
    """Writes a config for the scenario's cameras (sources given per call) with private stores; enrols the watch-list."""

    def make(sources: dict[str, str], **overrides) -> Path:
        tmp_path = tmp_path_factory.mktemp("site")
        config = {
            "site": "e2e",
            "cameras": [{"id": c.id, "name": c.name, "source": sources[c.id], "position": {"x": c.x, "y": c.y}}
                        for c in demo_scenario.cameras],
            "analysis": {"fps": 5, "detector": {"backend": "hog"}, "workers": 2},
            "bus": {"kind": "sqlite", "path": str(tmp_path / "bus.db")},
            "database": {"url": f"sqlite:///{tmp_path / 'facetrail.db'}"},
            "objects": {"kind": "local", "path": str(tmp_path / "evidence")},
            # The scenario's footage is dated 2026-01-01 (demo.scenario.SITE_START): kept, not refused as past retention.
            "retention": {"sightings_days": 3650, "tracks_days": 3650, "evidence_days": 3650},
            **overrides,
        }
        path = tmp_path / "site.yaml"
        path.write_text(yaml.safe_dump(config))
        facetrail("watchlist", "import", str(demo_scenario.watchlist_dir), "-c", str(path),
                  "--legal-basis", LEGAL_BASIS, "--image-source", "demo scenario", "--enrolled-by", "e2e")
        return path

    return make


def tracks_json(config: Path) -> list[dict]:
    return json.loads(facetrail("tracks", "-c", str(config), "--format", "json").stdout)


def sightings_json(config: Path) -> list[dict]:
    return json.loads(facetrail("sightings", "-c", str(config), "--format", "json").stdout)
