"""Faults during a run: the RTSP server restarted ten times, Kafka stopped for 30 s."""

from __future__ import annotations

import socket
import time
from collections import Counter
from datetime import datetime, timezone

import pytest
from kafka import KafkaConsumer, TopicPartition

from facetrail.bus.channels import HEALTH_TOPIC
from facetrail.health import CameraHealth
from services_fixtures import run_services
from tests.backbone.conftest import start_facetrail, stop_facetrail
from tests.backbone.test_worker_failover import camera_starts, wait_for
from tests.backbone.world import routes, sightings_json

pytestmark = pytest.mark.services

RESTARTS = 10
OUTAGE_S = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class HealthWatch:
    """Camera health reports on the real Kafka, read as they arrive."""

    def __init__(self, bootstrap: str):
        self._consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
        self._consumer.assign([TopicPartition(HEALTH_TOPIC, 0)])
        self._consumer.seek_to_beginning()

    def frame_after(self, camera_id: str, moment: datetime, timeout_s: float) -> datetime:
        """The first sampled frame time after `moment` that a health report of the camera names."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for records in self._consumer.poll(timeout_ms=500).values():
                for record in records:
                    report = CameraHealth.model_validate_json(record.value)
                    if report.camera_id == camera_id and report.last_frame_at and report.last_frame_at > moment:
                        return report.last_frame_at
        raise AssertionError(f"no frame of {camera_id} after {moment:%H:%M:%S} within {timeout_s:.0f}s")

    def close(self) -> None:
        self._consumer.close()


def test_the_worker_reconnects_after_each_of_ten_rtsp_server_restarts(backbone, demo_scenario, rtsp_server_module, figure):
    from facetrail.demo.rtsp import serve_clips

    camera = demo_scenario.camera("cam-a")
    port = free_port()
    site = backbone.site(demo_scenario, {"cam-a": f"rtsp://127.0.0.1:{port}/cam-a"}, workers=1, enrol=False)
    worker = start_facetrail("worker", "-c", str(site), log=backbone.folder / "worker.log")
    recoveries = []
    try:
        wait_for(lambda: camera_starts(backbone.database_url), 90, "the worker to open the camera")
        watch = HealthWatch(backbone.env.kafka_bootstrap)
        for _ in range(RESTARTS + 1):
            with serve_clips({"cam-a": camera.clip}, loop=True, port=port):
                up_at = datetime.now(timezone.utc)
                first = watch.frame_after("cam-a", up_at, 60)
                recoveries.append((first - up_at).total_seconds())
            time.sleep(1.0)  # the camera is gone: the worker sees the stream drop and retries
        watch.close()
    finally:
        stop_facetrail(worker)
    restarts = recoveries[1:]
    figure("rtsp_restart_recovery_max_s", max(restarts), "s", f"{RESTARTS} restarts, mean {sum(restarts) / len(restarts):.2f} s")
    assert len(restarts) == RESTARTS


def test_stopping_kafka_for_30_s_mid_run_loses_and_duplicates_no_sighting(backbone, demo_scenario, rtsp_server, figure):
    base = rtsp_server({c.id: c.clip for c in demo_scenario.cameras}, once=True)
    site = backbone.site(demo_scenario, {c.id: f"{base}/{c.id}" for c in demo_scenario.cameras}, workers=2)
    run = start_facetrail("run", "-c", str(site), "--duration", "110", log=backbone.folder / "run.log")
    try:
        wait_for(lambda: len(camera_starts(backbone.database_url)) >= 3, 90, "the cameras to open")
        time.sleep(4)  # the walks are under way
        down = run_services("down", "kafka", timeout_s=120)
        assert down.returncode == 0, down.stderr
        stopped_at = time.monotonic()
        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - stopped_at)))
        up = run_services("up", "kafka", timeout_s=300)
        assert up.returncode == 0, up.stderr
        figure("kafka_outage_s", time.monotonic() - stopped_at, "s", "broker stopped mid-run, then started again")
        run.wait(timeout=200)
    finally:
        stop_facetrail(run)
        run_services("up", "kafka", timeout_s=300)
    # Cameras per person, not their order: the two workers take their cameras through a consumer-group
    # rebalance, so one camera's stream (and its clip) can start seconds after another's, and the
    # wall-clock route follows. The demo tests, whose cameras start together, check the order.
    assert {person: sorted(cameras) for person, cameras in routes(site).items()} == \
        {person: sorted(cameras) for person, cameras in demo_scenario.expected_routes.items()}
    names = {p.display_name for p in demo_scenario.enrolled}
    expected = Counter(p.person for p in demo_scenario.passes if p.person in names)
    assert Counter(s["person"] for s in sightings_json(site)) == expected
