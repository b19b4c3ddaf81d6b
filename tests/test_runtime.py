"""The live runtime's stages, on the embedded bus and database."""

from datetime import datetime, timezone

import pytest

from facetrail.bus.channels import HEALTH
from facetrail.health import CameraHealth
from facetrail.runtime import HealthRecorder, RetentionSchedule, supervise
from facetrail.stores import Stores

CONFIG = "database: {url: 'sqlite:///facetrail.db'}\nbus: {kind: sqlite, path: bus.db}\nobjects: {kind: local, path: objects}\n"


@pytest.fixture
def stores(tmp_path) -> Stores:
    path = tmp_path / "facetrail.yaml"
    path.write_text(CONFIG)
    return Stores.load(path)


def report(camera_id: str) -> CameraHealth:
    return CameraHealth(camera_id=camera_id, state="running", analysed_fps=4.0, reported_at=datetime.now(timezone.utc))


def test_camera_health_on_the_bus_reaches_the_health_store_and_a_malformed_report_is_skipped(stores):
    recorder = HealthRecorder.of(stores)
    HEALTH.publish(stores.bus, report("gate-1"))
    stores.bus.publish(HEALTH.name, "gate-2", b"not a report")
    HEALTH.publish(stores.bus, report("gate-3"))
    assert recorder.step() == 3
    assert [h.camera_id for h in stores.health.all()] == ["gate-1", "gate-3"]


def test_the_retention_sweep_runs_at_start_and_then_only_when_due(stores):
    schedule = RetentionSchedule(stores, every_s=3600.0)
    supervise([schedule], keep_going=lambda: True, done=lambda: True)
    schedule.step()
    sweeps = [r for r in stores.audit.records() if r.action == "retention.sweep"]
    assert len(sweeps) == 1


def test_supervise_steps_every_stage_in_turn_until_told_to_stop():
    steps: list[str] = []

    class Stage:
        def __init__(self, name: str):
            self.name = name

        def step(self) -> None:
            steps.append(self.name)

    rounds = iter([True, True, False])
    supervise([Stage("a"), Stage("b")], keep_going=lambda: next(rounds))
    assert steps == ["a", "b", "a", "b"]
