"""Archive fixtures: the demo scenario's clips as one camera's recordings, and sites on SQLite or PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from facetrail.demo.scenario import Scenario, build_scenario
from services_fixtures import minio_service, postgres_service  # noqa: F401  (session fixtures)

REPO = Path(__file__).resolve().parents[2]
START = "2026-03-01T12:00:00Z"
# 20 s clips with a key frame every 2 s: 4 s segments put passes across boundaries; one pass is about 3.2 s long.
ARCHIVE = {"segment_s": 4, "overlap_s": 4, "lease_s": 3, "max_attempts": 3}
# The footage is dated START; sightings past retention are refused on ingestion, so these sites keep ten years.
RETENTION = {"sightings_days": 3650, "tracks_days": 3650, "evidence_days": 3650}


def facetrail(*args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "facetrail.cli.main", *args], capture_output=True, text=True,
                            timeout=timeout, env={**os.environ, "PYTHONWARNINGS": "ignore"}, cwd=REPO,
                            stdin=subprocess.DEVNULL)
    if check and result.returncode != 0:
        raise AssertionError(f"facetrail {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result


@pytest.fixture(scope="session")
def demo_scenario() -> Scenario:
    return build_scenario(REPO / ".cache" / "test-scenario")


@pytest.fixture
def clips(demo_scenario) -> list[str]:
    return [str(c.clip) for c in demo_scenario.cameras]


def write_site(folder: Path, scenario: Scenario, database_url: str | None = None, enrol: bool = True,
               objects: dict | None = None, bus: dict | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "site": "archive",
        "cameras": [{"id": "cam-b", "name": "B", "source": str(scenario.camera("cam-b").clip), "position": {"x": 0, "y": 0}}],
        "analysis": {"fps": 5, "detector": {"backend": "hog"}, "workers": 1},
        "bus": bus or {"kind": "sqlite", "path": str(folder / "bus.db")},
        "database": {"url": database_url or f"sqlite:///{folder / 'facetrail.db'}"},
        "objects": objects or {"kind": "local", "path": str(folder / "evidence")},
        "archive": {**ARCHIVE, "cache_dir": str(folder / "archive-cache")},
        "retention": RETENTION,
    }
    path = folder / "site.yaml"
    path.write_text(yaml.safe_dump(config))
    if enrol:
        facetrail("watchlist", "import", str(scenario.watchlist_dir), "-c", str(path), "--legal-basis", "archive test",
                  "--image-source", "demo scenario", "--enrolled-by", "archive-test")
    return path


def named_sightings(site: Path) -> list[tuple]:
    """Each stored sighting as (person, camera, first seen, last seen, final): entry ids differ between sites."""
    rows = json.loads(facetrail("sightings", "-c", str(site), "--format", "json").stdout)
    return sorted((r["person"], r["camera_id"], r["first_seen"], r["last_seen"], r["final"]) for r in rows)


@pytest.fixture(scope="session")
def reprocessed(demo_scenario, tmp_path_factory) -> list[tuple]:
    """What one `facetrail reprocess` of the three clips (as camera cam-b, one after another) stores."""
    site = write_site(tmp_path_factory.mktemp("reprocess"), demo_scenario)
    facetrail("reprocess", "-c", str(site), "--camera", "cam-b", "--start", START,
              *[str(c.clip) for c in demo_scenario.cameras])
    found = named_sightings(site)
    assert len(found) >= 4, found
    return found
