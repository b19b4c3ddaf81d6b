"""`make demo`'s program prints each enrolled person's track in the scenario's camera order."""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e


def test_the_demo_prints_each_enrolled_person_s_track(tmp_path, demo_scenario):
    env = {**os.environ, "FACETRAIL_DEMO_SERVE": "0", "PYTHONWARNINGS": "ignore"}
    result = subprocess.run([sys.executable, "-m", "facetrail.demo"], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    track_lines = [line for line in result.stdout.splitlines() if " -> " in line and not line.startswith(" ")]
    routes = {name: route for name, route in demo_scenario.expected_routes.items()
              if any(line.startswith(name) and line.endswith(" -> ".join(route)) for line in track_lines)}
    assert routes == demo_scenario.expected_routes
    assert not any(p.display_name in result.stdout for p in demo_scenario.passers_by)
