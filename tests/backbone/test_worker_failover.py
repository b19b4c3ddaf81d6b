"""kill -9 of one `facetrail worker`: its cameras move to the surviving worker."""

from __future__ import annotations

import json
import os
import signal
import time
from datetime import datetime, timezone

import pytest

from tests.backbone.conftest import start_facetrail, stop_facetrail
from tests.backbone.world import database_rows

pytestmark = pytest.mark.services


def camera_starts(url: str) -> list[tuple[str, int, datetime]]:
    """(camera, worker pid, when) of every camera.start in the audit log, oldest first."""
    rows = sorted(database_rows(url).get("audit_log", []), key=lambda r: r["seq"])
    return [(r["subject"], json.loads(r["details"])["pid"], r["at"].replace(tzinfo=timezone.utc))
            for r in rows if r["action"] == "camera.start"]


def wait_for(predicate, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")


def test_a_killed_workers_cameras_resume_on_the_survivor(backbone, demo_scenario, rtsp_server, figure):
    base = rtsp_server({c.id: c.clip for c in demo_scenario.cameras}, loop=True)
    site = backbone.site(demo_scenario, {c.id: f"{base}/{c.id}" for c in demo_scenario.cameras}, workers=2)
    workers = [start_facetrail("worker", "-c", str(site), log=backbone.folder / f"worker-{i}.log") for i in range(2)]
    try:
        def shared_out():
            owners = {camera: pid for camera, pid, _ in camera_starts(backbone.database_url)}
            return owners if len(owners) == 3 and len(set(owners.values())) == 2 else None

        owners = wait_for(shared_out, 90, "both workers to own cameras")
        victim = next(w for w in workers if w.pid in owners.values())
        survivor = next(w for w in workers if w is not victim)
        moved = sorted(camera for camera, pid in owners.items() if pid == victim.pid)
        seen = len(camera_starts(backbone.database_url))
        killed_at = datetime.now(timezone.utc)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()

        def resumed():
            later = camera_starts(backbone.database_url)[seen:]
            taken = {camera: at for camera, pid, at in later if pid == survivor.pid}
            return taken if set(moved) <= set(taken) else None

        taken = wait_for(resumed, 60, f"{moved} to start on the survivor")
        seconds = max((taken[c] - killed_at).total_seconds() for c in moved)
        figure("worker_failover_reassignment_s", seconds, "s", f"kill -9 of a worker owning {', '.join(moved)}")
        assert seconds < 20
    finally:
        for worker in workers:
            stop_facetrail(worker)
